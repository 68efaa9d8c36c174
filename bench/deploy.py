"""What the harness runs and watches: servers, the load generator process, samples, memory."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import redis
from sqlalchemy import func, select

from models.core.db import Database
from models.directory.tables import APPLIED_TABLES, dirty
from models.migrate import upgrade
from tests.support.processes import ROOT, Stack, wait_until
from tests.support.services import PostgresDatabase

SAMPLE_SECONDS = 0.1
# A stack has finished starting once its processes spend less than this share of a core
# for SETTLE_SECONDS.
SETTLED_CORE_SHARE = 0.05
SETTLE_SECONDS = 1.0
RECONCILE_COUNTER = "scimgate:stats:sent:roster.reconcile"
UNTHROTTLED = {"SCIMGATE_RATE_LIMIT_PER_SECOND": "1000000", "SCIMGATE_RATE_LIMIT_BURST": "1000000"}


class FreshDatabase:
    """A migrated, empty database: a SQLite file, or a database of its own on PostgreSQL."""

    def __init__(self, kind: str, scratch: Path, postgres_admin_url: str | None) -> None:
        self.kind = kind
        self._postgres: PostgresDatabase | None = None
        if kind == "sqlite":
            self.url = f"sqlite:///{scratch / 'bench.db'}"
            upgrade(self.url)
            return
        if not postgres_admin_url:
            raise SystemExit(
                "PostgreSQL runs need SCIMGATE_TEST_POSTGRES_URL (see bench/README.md)"
            )
        self._postgres = PostgresDatabase(postgres_admin_url)
        self._postgres.create()
        self.url = self._postgres.url

    def drop(self) -> None:
        if self._postgres is not None:
            self._postgres.drop()


def dirty_rows(database: Database) -> int:
    """Directory rows the roster has not applied yet, across every organization."""
    total = 0
    with database.reading() as session:
        for table in APPLIED_TABLES:
            total += session.scalar(select(func.count()).where(dirty(table))) or 0
    return total


@dataclass
class Sampler:
    """Samples pending changes every 100 ms in a thread, from start() to stop()."""

    database: Database
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), dirty_rows(self.database)))
            self._stop.wait(SAMPLE_SECONDS)

    def stop(self) -> list[tuple[float, int]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        taken, self.samples = self.samples, []
        return taken


def wait_converged(database: Database, timeout: float) -> float | None:
    """Poll until no directory row is dirty; the monotonic time it happened, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dirty_rows(database) == 0:
            return time.monotonic()
        time.sleep(0.02)
    return None


def reconcile_jobs_sent(redis_url: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.get(RECONCILE_COUNTER) or 0)
    finally:
        client.close()


def _stat_fields(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, or None once the process is gone.

    The name may hold spaces and parentheses, so the fields start after its last ")": the
    parent pid is [1], user and system CPU ticks are [11] and [12].
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def children(pid: int) -> list[int]:
    """The direct child processes of `pid` (gunicorn's or Dramatiq's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry.name)
        if fields is not None and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """The CPU time these processes have used so far, user and system; gone ones count 0."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_settled(stack: Stack, timeout: float = 60.0) -> None:
    """Wait until every process of the stack has finished starting.

    gunicorn answers /healthz before Dramatiq's worker processes and the clock have
    imported everything, and their start takes seconds of CPU: a burst sent at once would
    share the two cores with it and be measured slower than it is.
    """
    wait_until(
        lambda: _quiet(stack), timeout=timeout, interval=0, what="the stack to finish starting"
    )


def _quiet(stack: Stack) -> bool:
    """Whether the stack's processes use under SETTLED_CORE_SHARE of a core for SETTLE_SECONDS."""
    tops = [process.pid for process in stack.processes.values()]
    pids = tops + [child for top in tops for child in children(top)]
    before = cpu_seconds(pids)
    time.sleep(SETTLE_SECONDS)
    used = cpu_seconds(pids) - before
    # Negative when a process exited meanwhile: its CPU time left the sum.
    return 0 <= used < SETTLED_CORE_SHARE * SETTLE_SECONDS


def memory_mb(pid: int, field: str) -> float | None:
    """A memory figure of /proc/PID/status (`VmRSS`, `VmHWM`...) in MiB; None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return None


def peak_rss_mb(pid: int) -> float | None:
    """The largest peak resident set size (VmHWM) among a process's children, in MB."""
    peaks = [peak for child in children(pid) if (peak := memory_mb(child, "VmHWM")) is not None]
    return round(max(peaks), 1) if peaks else None


def run_load(plan: dict[str, Any], scratch: Path) -> dict[str, Any]:
    """Run the load generator as a separate process on `plan`; its recorded result."""
    with tempfile.NamedTemporaryFile(dir=scratch, suffix=".json", delete=False) as plan_file:
        plan_file.write(orjson.dumps(plan))
    result_path = Path(plan_file.name).with_suffix(".result.json")
    subprocess.run(
        [sys.executable, "-m", "bench.load", plan_file.name, str(result_path)],
        cwd=ROOT,
        check=True,
        timeout=3600,
    )
    result = orjson.loads(result_path.read_bytes())
    os.unlink(plan_file.name)
    os.unlink(result_path)
    return result


class Servers:
    """gunicorn-served apps and scimgate's workers and clock, each a process group of its own."""

    def __init__(self, database_url: str, redis_url: str, logs: Path) -> None:
        self._database_url = database_url
        self._redis_url = redis_url
        self._logs = logs
        self.stacks: list[Stack] = []

    def _stack(self, extra_env: dict[str, str] | None = None) -> Stack:
        stack = Stack(self._database_url, self._redis_url, self._logs)
        # The benchmark measures capacity: the per-organization rate limit still runs (and
        # costs what it costs) but is set far above what one machine can serve.
        stack.env.update(UNTHROTTLED)
        stack.env.update(extra_env or {})
        self.stacks.append(stack)
        return stack

    def scimgate(self, worker_processes: int, worker_threads: int) -> Stack:
        """web (gunicorn as configured), Dramatiq workers and the clock, as in the Procfile."""
        stack = self._stack()
        stack.start_web(workers=None)
        stack.start_worker(processes=worker_processes, threads=worker_threads)
        stack.start_clock()
        wait_settled(stack)
        return stack

    def app(self, name: str, app: str, workers: int | None = None, **env: str) -> Stack:
        """Another WSGI app (the no-op ceiling, the peer) on the same gunicorn configuration."""
        stack = self._stack(env)
        # Preloading makes the app (and any seed) in the master before workers fork, so a
        # long seed is not mistaken for a stuck worker.
        stack.start_web(name, workers=workers, app=app, options=("--preload",), ready_timeout=600)
        wait_settled(stack)
        return stack

    def stop(self) -> None:
        for stack in self.stacks:
            stack.stop()
        self.stacks.clear()


def pid_of(stack: Stack, name: str) -> int:
    return stack.processes[name].pid


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = action()
    return value, time.perf_counter() - started
