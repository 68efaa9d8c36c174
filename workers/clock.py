"""The clock: one process that enqueues periodic jobs; each tick also guarded in Redis.

Run exactly one; if two run anyway (a deploy overlapping), the SET NX on each tick's key means
each tick's job is sent once.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import redis

from workers.broker import setup_broker
from workers.keys import clock_tick, clock_ticks_claimed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Schedule:
    job: str
    every_seconds: int


SCHEDULES = (
    Schedule("sweep", 5),
    Schedule("daily", 24 * 60 * 60),
    Schedule("purge_audit", 24 * 60 * 60),
)
TICK_SECONDS = 1


def claim_tick(client: redis.Redis, job: str, tick: int, ttl_seconds: int) -> bool:
    """True for exactly one clock per (job, tick), however many clocks run."""
    claimed = bool(client.set(clock_tick(job, tick), "1", nx=True, ex=ttl_seconds))
    if claimed:
        client.incr(clock_ticks_claimed(job))
    return claimed


def run_clock(stop: threading.Event | None = None) -> None:
    broker = setup_broker()
    from workers.maintenance import daily, purge_audit, sweep

    actors = {"sweep": sweep, "daily": daily, "purge_audit": purge_audit}
    stop = stop or threading.Event()
    log.info("clock started: %s", ", ".join(f"{s.job} every {s.every_seconds}s" for s in SCHEDULES))
    last_tick: dict[str, int] = {}
    while not stop.is_set():
        now = time.time()
        for schedule in SCHEDULES:
            tick = int(now // schedule.every_seconds)
            if last_tick.get(schedule.job) == tick:
                continue
            try:
                ttl = max(schedule.every_seconds * 2, 60)
                if claim_tick(broker.client, schedule.job, tick, ttl):
                    actors[schedule.job].send()
                last_tick[schedule.job] = tick
            except (redis.RedisError, OSError) as error:
                log.warning(
                    "clock: Redis unavailable, %s tick %s not sent: %s", schedule.job, tick, error
                )
        stop.wait(TICK_SECONDS)
