"""Worker metrics: Dramatiq's own Prometheus middleware, and how deep the job queues are.

Dramatiq's middleware (`dramatiq.middleware.prometheus`) counts messages, errors, retries,
dead letters and durations per actor. Each worker process writes them to files in one
directory (prometheus_client's multiprocess mode) and one extra process that Dramatiq forks
serves the sum over HTTP. The middleware reads where and on which port from the environment
when it is imported, so `metrics_environment` must be applied before any worker process
starts; `scimgate worker` does that, with a fresh directory per run so counters left by an
earlier run's processes are never added to this one's.
"""

from __future__ import annotations

import tempfile

import redis
from dramatiq.brokers.redis import RedisBroker

from workers.keys import (
    QUEUES,
    WORK_QUEUES,
    clock_ticks_claimed,
    dead_messages,
    delayed_messages,
    ready_messages,
)


def metrics_environment(port: int, host: str = "0.0.0.0") -> dict[str, str]:  # noqa: S104
    """The variables Dramatiq's Prometheus middleware reads, with a new, empty directory."""
    directory = tempfile.mkdtemp(prefix="scimgate-worker-metrics-")
    return {
        "dramatiq_prom_db": directory,
        "dramatiq_prom_port": str(port),
        "dramatiq_prom_host": host,
        "PROMETHEUS_MULTIPROC_DIR": directory,
    }


def install_worker_metrics(broker: RedisBroker) -> None:
    """Add Dramatiq's Prometheus middleware to this worker process's broker, once."""
    from dramatiq.middleware.prometheus import Prometheus

    if not any(isinstance(middleware, Prometheus) for middleware in broker.middleware):
        broker.add_middleware(Prometheus())


def queue_depths(client: redis.Redis) -> dict[tuple[str, str], int]:
    """Messages per (queue, state): `ready` to run, `delayed` (not due yet), `dead` (gave up)."""
    pipeline = client.pipeline(transaction=False)
    for queue in QUEUES:
        pipeline.llen(ready_messages(queue))
        pipeline.llen(delayed_messages(queue))
        pipeline.zcard(dead_messages(queue))
    counts = iter(pipeline.execute())
    depths: dict[tuple[str, str], int] = {}
    for queue in QUEUES:
        for state in ("ready", "delayed", "dead"):
            depths[(queue, state)] = int(next(counts))
    return depths


def clock_ticks(client: redis.Redis) -> dict[str, int]:
    """Ticks claimed per clock job since Redis was last emptied, however many clocks run."""
    from workers.clock import SCHEDULES

    jobs = [schedule.job for schedule in SCHEDULES]
    counts = client.mget([clock_ticks_claimed(job) for job in jobs])
    return {job: int(count or 0) for job, count in zip(jobs, counts, strict=True)}


def queue_backlog(client: redis.Redis) -> int:
    """Messages waiting in the work queues, delayed ones included (dead ones are done)."""
    return sum(
        count
        for (queue, state), count in queue_depths(client).items()
        if queue in WORK_QUEUES and state != "dead"
    )
