"""Verbs that run a process or the schema: `db upgrade`, `dev`, `clock`, `alive`, `worker`."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from typing import Any

from models.core.config import Settings


def register(commands: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="database schema").add_subparsers(metavar="ACTION")
    db.add_parser("upgrade", help="apply every migration").set_defaults(handler=_db_upgrade)

    command("dev", _dev, "run everything locally: Redis, web, worker and clock")
    command("clock", _clock, "run the clock (exactly one per deployment)")
    alive = command("alive", _alive, "exit 0 if this container's clock loop turned lately")
    alive.add_argument("--max-age", type=float, default=30.0, help="seconds")
    worker = command("worker", _worker, "run Dramatiq workers with metrics and JSON logs")
    worker.add_argument("--processes", type=int, default=2, help="worker processes")
    worker.add_argument("--threads", type=int, default=4, help="threads per worker process")
    worker.add_argument("--queues", nargs="*", default=[], help="only these queues")


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> None:
    from models.migrate import upgrade

    upgrade(settings.database_url)
    print("database is up to date")


def _dev(args: argparse.Namespace, settings: Settings) -> int:
    from api.dev import run_dev

    return run_dev(settings)


def _clock(args: argparse.Namespace, settings: Settings) -> None:

    from models.core.logs import configure_logging
    from workers.clock import run_clock
    from workers.liveness import HeartbeatStop

    configure_logging(settings.log_format, settings.log_level)
    stop = HeartbeatStop()
    # SIGTERM ends the loop between ticks, so a deploy stops the clock cleanly.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    run_clock(stop)


def _alive(args: argparse.Namespace, settings: Settings) -> int:
    from workers.liveness import heartbeat_age_seconds

    age = heartbeat_age_seconds()
    if age > args.max_age:
        print(f"scimgate: the clock last came round {age:.0f} s ago", file=sys.stderr)
        return 1
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from workers.process import run_worker

    return run_worker(settings, args.processes, args.threads, args.queues)
