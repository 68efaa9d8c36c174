"""The Dramatiq broker, set up once, before any actor module is imported."""

from __future__ import annotations

import dramatiq
import dramatiq.broker
from dramatiq.brokers.redis import RedisBroker

from models.core.config import Settings

# A SIGKILLed worker's messages return once its heartbeat is older than this; Dramatiq's
# default (60 s, checked on 0.1% of commands) leaves them stranded for many minutes.
HEARTBEAT_TIMEOUT_MS = 30_000
# Out of a million broker commands, how many also requeue the messages of dead workers.
MAINTENANCE_CHANCE = 100_000
NAMESPACE = "scimgate"


def create_broker(redis_url: str) -> RedisBroker:
    return RedisBroker(
        url=redis_url,
        namespace=NAMESPACE,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=MAINTENANCE_CHANCE,
        # Short socket timeouts: the API must not hang on a Redis that is gone.
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=15,
    )


def setup_broker(settings: Settings | None = None) -> RedisBroker:
    """Install this process's broker; later calls return the one installed."""
    current = dramatiq.broker.global_broker
    if isinstance(current, RedisBroker):
        return current
    settings = settings or Settings.from_env()
    if not settings.redis_url:
        raise RuntimeError(
            "SCIMGATE_REDIS_URL is not set (`scimgate dev` starts an embedded Redis for you)"
        )
    broker = create_broker(settings.redis_url)
    dramatiq.set_broker(broker)
    return broker


def queue_backlog(
    broker: RedisBroker, queue_names: tuple[str, ...] = ("roster", "webhooks")
) -> int:
    """Messages waiting in Redis, delayed ones included, across the given queues."""
    total = 0
    for name in queue_names:
        total += broker.client.llen(f"{NAMESPACE}:{name}")
        total += broker.client.llen(f"{NAMESPACE}:{name}.DQ")
    return total
