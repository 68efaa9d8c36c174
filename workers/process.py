"""`scimgate worker`: Dramatiq's worker command with our logs, metrics and shutdown budget.

Runs `dramatiq workers.process:setup_worker workers.actors`: Dramatiq calls `setup_worker`
in every worker process before it imports the actors. SIGTERM makes Dramatiq stop taking
messages, hand back the ones it fetched but had not started, and wait for the running ones;
the wait is as long as the longest job may run, so a deploy never cuts a job short.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from types import FrameType
from typing import Any

from models.core.config import Settings
from models.core.logs import configure_logging
from workers.actors import all_actors
from workers.broker import setup_broker
from workers.metrics import install_worker_metrics, metrics_environment

# Dramatiq's TimeLimit default, for actors that do not set their own.
DEFAULT_TIME_LIMIT_MS = 10 * 60 * 1000
# A second SIGTERM this soon after the first is the same stop request arriving twice.
ECHO_WINDOW_SECONDS = 2.0


def setup_worker() -> None:
    """Prepare one worker process: JSON logs, the broker, Dramatiq's Prometheus middleware."""
    settings = Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    install_worker_metrics(setup_broker(settings))
    ignore_echoed_sigterm()


def ignore_echoed_sigterm() -> None:
    """Let one stop request drain the worker, even when it arrives twice.

    Dramatiq treats a worker process's second SIGTERM as "kill now", and its main process
    forwards the SIGTERM it gets. A platform that signals every process of the container
    (Heroku does; so does `kill` on a process group) therefore delivers two at once, and
    running jobs would be cut short. A repeat within a moment is ignored; a later one still
    means "kill now", as Dramatiq intends.
    """
    dramatiq_handler = signal.getsignal(signal.SIGTERM)
    first_at: list[float] = []

    def on_sigterm(signum: int, frame: FrameType | None) -> Any:
        now = time.monotonic()
        if first_at and now - first_at[0] < ECHO_WINDOW_SECONDS:
            return None
        first_at[:1] = [now]
        if callable(dramatiq_handler):
            return dramatiq_handler(signum, frame)
        return None

    signal.signal(signal.SIGTERM, on_sigterm)


def longest_time_limit_ms() -> int:
    """The longest any of our jobs may run: how long a stopping worker waits for its jobs."""
    return max(
        int(declared.options.get("time_limit", DEFAULT_TIME_LIMIT_MS)) for declared in all_actors()
    )


def run_worker(settings: Settings, processes: int, threads: int, queues: list[str]) -> int:
    """Run Dramatiq's worker command in this process until it stops; its exit status."""
    from dramatiq.cli import main, make_argument_parser

    environment = metrics_environment(settings.worker_metrics_port)
    os.environ.update(environment)
    configure_logging(settings.log_format, settings.log_level)
    arguments = [
        "workers.process:setup_worker",
        "workers.actors",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
        "--worker-shutdown-timeout",
        str(longest_time_limit_ms()),
        # Our handler is already on the root logger, and forked processes inherit it.
        "--skip-logging",
    ]
    if queues:
        arguments += ["--queues", *queues]
    try:
        # Dramatiq's command-line functions carry no annotations.
        parsed = make_argument_parser().parse_args(arguments)  # type: ignore[no-untyped-call]
        return int(main(parsed) or 0)  # type: ignore[no-untyped-call]
    finally:
        shutil.rmtree(environment["dramatiq_prom_db"], ignore_errors=True)
