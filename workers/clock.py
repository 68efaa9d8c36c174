"""The clock: one process that enqueues periodic jobs; each tick also guarded in Redis.

Run exactly one; if two run anyway (a deploy overlapping), the SET NX on the tick's key means
each tick's job is sent once.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from workers.broker import setup_broker

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 5


def claim_tick(client: redis.Redis, job: str, tick: int, ttl_seconds: int) -> bool:
    return bool(client.set(f"scimgate:clock:{job}:{tick}", "1", nx=True, ex=ttl_seconds))


def run_clock(stop: threading.Event | None = None) -> None:
    broker = setup_broker()
    from workers.sweep import sweep

    stop = stop or threading.Event()
    log.info("clock started: sweep every %s s", SWEEP_INTERVAL_SECONDS)
    while not stop.is_set():
        tick = int(time.time() // SWEEP_INTERVAL_SECONDS)
        try:
            if claim_tick(broker.client, "sweep", tick, SWEEP_INTERVAL_SECONDS * 4):
                sweep.send()
        except (redis.RedisError, OSError) as error:
            log.warning("clock: Redis unavailable, tick %s skipped: %s", tick, error)
        next_tick = (tick + 1) * SWEEP_INTERVAL_SECONDS
        stop.wait(max(next_tick - time.time(), 0.05))
