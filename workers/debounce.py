"""Send a message at most once while one is pending: the key is set on send, cleared on start.

The job clears its key before it reads any state, so a change committed after the job read
finds the key gone and sends again: coalescing never loses a wake-up.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from dramatiq import Actor

from workers.broker import installed_broker
from workers.keys import messages_sent

log = logging.getLogger(__name__)

# Outlives any delay we use; it only matters if a message was lost, which the sweep covers.
PENDING_TTL_MS = 60_000


def send_unless_pending(
    actor: Actor[Any, Any], key: str, args: tuple[Any, ...], delay_ms: int = 0
) -> bool:
    """Send unless a message for `key` is pending; never raises if Redis is unreachable."""
    client = installed_broker().client
    try:
        if not client.set(key, "1", nx=True, px=PENDING_TTL_MS):
            return False
        actor.send_with_options(args=args, delay=delay_ms or None)
        client.incr(messages_sent(actor.actor_name))
        return True
    except (redis.RedisError, OSError) as error:
        # The state that needs the job is committed; the clock's sweep will send it later.
        log.warning("could not enqueue %s%r: %s", actor.actor_name, args, error)
        return False


def clear_pending(key: str) -> None:
    installed_broker().client.delete(key)
