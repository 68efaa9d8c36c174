"""Every Redis key and queue of the workers: the layout in one place.

Dramatiq keeps each queue under `NAMESPACE` as a list of ready messages, `.DQ` for delayed
ones and `.XQ` (a sorted set) for dead ones. Our own keys sit beside them: markers that a
message is pending or was re-sent, the webhook delivery lock, the clock's claimed ticks and
counters the benchmarks and metrics read.
"""

from __future__ import annotations

NAMESPACE = "scimgate"

ROSTER_QUEUE = "roster"
WEBHOOKS_QUEUE = "webhooks"
MAINTENANCE_QUEUE = "maintenance"
QUEUES = (ROSTER_QUEUE, WEBHOOKS_QUEUE, MAINTENANCE_QUEUE)
# The queues whose backlog says the workers are behind (maintenance jobs are few and quick).
WORK_QUEUES = (ROSTER_QUEUE, WEBHOOKS_QUEUE)


def ready_messages(queue: str) -> str:
    return f"{NAMESPACE}:{queue}"


def delayed_messages(queue: str) -> str:
    return f"{NAMESPACE}:{queue}.DQ"


def dead_messages(queue: str) -> str:
    return f"{NAMESPACE}:{queue}.XQ"


def reconcile_pending(organization_id: int) -> str:
    """Set while a reconcile of the organization is enqueued and not yet started."""
    return f"{NAMESPACE}:reconcile-pending:{organization_id}"


def delivery_pending(endpoint_id: int) -> str:
    """Set while a delivery to the endpoint is enqueued and not yet started."""
    return f"{NAMESPACE}:webhook-pending:{endpoint_id}"


def delivery_lock(endpoint_id: int) -> str:
    """Held by the one delivery running for the endpoint, so its events go out in order."""
    return f"{NAMESPACE}:webhook-lock:{endpoint_id}"


def sweep_resent(target: str) -> str:
    """Set when the sweep re-sent a job for `target`, so it does not re-send every tick."""
    return f"{NAMESPACE}:sweep-sent:{target}"


def clock_tick(job: str, tick: int) -> str:
    """Claimed by the one clock that sends `job` for this tick."""
    return f"{NAMESPACE}:clock:{job}:{tick}"


STATS_PREFIX = f"{NAMESPACE}:stats:"


def clock_ticks_claimed(job: str) -> str:
    return f"{STATS_PREFIX}clock-ticks:{job}"


def messages_sent(actor_name: str) -> str:
    return f"{STATS_PREFIX}sent:{actor_name}"
