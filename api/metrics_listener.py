"""The web role's metrics listener: `/metrics` on a port of its own, never on the public one.

gunicorn's master starts it once its workers' socket is bound (`when_ready` in
deploy/gunicorn.conf.py), as a process rather than a thread in the master: the master forks
workers, and a fork copies a thread's locks in whatever state they happen to be in. It sums
every worker's counters from the multiprocess directory, adds the backlog read live from the
database and Redis, and exits when the master goes, even a master SIGKILLed that cannot tell
it to. Prometheus reaches it on the pod's address; the public port (and the proxy in front of
it) serves only the API, so nobody outside reads the deployment's traffic and backlog.

    python -m api.metrics_listener --directory DIR --parent PID
"""

from __future__ import annotations

import argparse
import logging
import os
import time

from prometheus_client import start_wsgi_server

from api.app import redis_client
from api.observability import metrics_registry
from models.core.config import Settings
from models.core.db import Database
from models.core.logs import configure_logging

log = logging.getLogger("scimgate.metrics")

# How long to keep trying a port that is taken: a master re-executed by SIGUSR2 starts its
# listener while the old master's still holds the port, until the old one is told to quit.
BIND_PATIENCE_SECONDS = 60.0
PARENT_POLL_SECONDS = 1.0


def serve(settings: Settings, directory: str, parent: int) -> int:
    """Serve until `parent` is gone; 1 if the port never came free."""
    database = Database.from_url(settings.database_url, pool_size=1)
    client = redis_client(settings.redis_url) if settings.redis_url else None
    registry = metrics_registry(database, client, directory)
    address = (settings.web_metrics_host, settings.web_metrics_port)
    deadline = time.monotonic() + BIND_PATIENCE_SECONDS
    while True:
        try:
            server, _thread = start_wsgi_server(address[1], address[0], registry)
            break
        except OSError as error:
            if time.monotonic() >= deadline:
                log.error("metrics: cannot listen on %s:%s: %s", *address, error)
                return 1
            time.sleep(1)
    log.info("metrics of the web role served on http://%s:%s/metrics", *address)
    # A child whose parent has died is adopted by init (or a subreaper): its parent changes.
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    server.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.metrics_listener")
    parser.add_argument("--directory", required=True, help="prometheus multiprocess directory")
    parser.add_argument("--parent", type=int, required=True, help="exit when this pid is gone")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    return serve(settings, args.directory, args.parent)


if __name__ == "__main__":
    raise SystemExit(main())
