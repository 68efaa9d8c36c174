"""gunicorn settings for the web role: gthread workers, sized from the environment.

Also the web role's share of observability: JSON logs through `models.core.logs`, and
prometheus_client's multiprocess mode, every worker's counters summed by the metrics listener
(`api/metrics_listener.py`), which the master starts on a port of its own.
"""

import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile

from gunicorn.glogging import Logger

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2, 8)))
worker_class = "gthread"
# The database pool of each worker is sized to this (models.core.config.Settings.web_threads).
threads = int(os.environ.get("SCIMGATE_WEB_THREADS", "8"))
# A gthread worker accepts connections while it holds fewer than this, and keeps at most
# (this - threads) idle between requests, closing any other after its response. Left at
# gunicorn's 1000, the worker that wins the first accepts keeps an IdP's few keep-alive
# connections for good, and its one interpreter lock caps the whole burst at one core while
# the other workers idle. One spare slot makes surplus connections reconnect and land on
# whichever worker is free: the burst spreads over every worker, at the cost of a loopback
# or in-cluster TCP handshake now and then.
worker_connections = threads + 1
# Okta gives up after 60 s; a request still running at 30 s is stuck, not slow.
timeout = 30
# On SIGTERM, workers stop accepting and finish what they hold for up to this long; the
# orchestrator's grace period must be longer (Kubernetes: terminationGracePeriodSeconds).
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = 20000
max_requests_jitter = 2000
# Our own access line (api/observability.py) names the route template and request id.
accesslog = None


class WithoutAccessLine(Logger):
    """gunicorn's logger without its access line: scimgate writes its own (api/observability.py),
    naming the route template rather than the path. With `logconfig_dict` set, gunicorn would
    build its line's fields for every request, only for the logger to drop it."""

    def access(self, resp, req, environ, request_time):
        return None


logger_class = WithoutAccessLine
errorlog = "-"
loglevel = os.environ.get("SCIMGATE_LOG_LEVEL", "info").lower()
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket lives at one fixed path per user; several instances on one host
# (tests, a blue/green deploy) would fight over it, and nothing of ours uses it.
control_socket_disable = True

_LOG_FORMATTER = (
    "models.core.logs.JsonFormatter"
    if os.environ.get("SCIMGATE_LOG_FORMAT", "json").lower() == "json"
    else "models.core.logs.TextFormatter"
)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"scimgate": {"()": _LOG_FORMATTER}},
    "handlers": {"stderr": {"()": "models.core.logs.StderrHandler", "formatter": "scimgate"}},
    "root": {"level": loglevel.upper(), "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
    },
}


# A metrics directory this run made for itself, removed when it exits.
_created: list[str] = []
# The metrics listener this master started, stopped when it exits.
_listeners: list[subprocess.Popen] = []


def on_starting(server):
    """Give this run's workers an empty metrics directory before the first one forks.

    prometheus_client decides at import whether values live in files, so the variable must be
    set before any worker imports it; set here, every forked worker inherits it. Files left by
    an earlier run would be summed with this one's, so a configured directory is emptied.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)
    else:
        directory = tempfile.mkdtemp(prefix="scimgate-web-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        _created.append(directory)
    server.log.info("metrics of every worker are collected in %s", directory)


def when_ready(server):
    """Start the metrics listener once the public socket is bound (and only then: a master
    that cannot bind exits, and its listener with it)."""
    from models.core.config import Settings

    if Settings.from_env().web_metrics_port == 0:
        server.log.info("metrics listener off (SCIMGATE_WEB_METRICS_PORT=0)")
        return
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    command = [
        sys.executable,
        "-m",
        "api.metrics_listener",
        "--directory",
        directory,
        "--parent",
        str(os.getpid()),
    ]
    _listeners.append(subprocess.Popen(command))


def on_exit(server):
    for listener in _listeners:
        listener.terminate()
    for listener in _listeners:
        try:
            listener.wait(timeout=5)
        except subprocess.TimeoutExpired:
            listener.kill()
    for directory in _created:
        shutil.rmtree(directory, ignore_errors=True)


def child_exit(server, worker):
    """Forget a dead worker's live gauges; its counters stay, so totals never go backwards."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
