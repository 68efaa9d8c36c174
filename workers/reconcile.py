"""The reconcile job: bring one organization's roster up to its directory.

Enqueueing is debounced: the first write of a burst sets a pending key and sends one delayed
message; writes that find the key set send nothing. The job deletes the key before it claims
rows, so a write that commits after the claim always finds the key gone and enqueues again.
Nothing is lost if Redis drops the message or is down: the row stays dirty and the clock's
sweep enqueues it again.
"""

from __future__ import annotations

import logging

import dramatiq
import redis

from models.roster import reconcile_organization
from workers import runtime
from workers.broker import setup_broker

log = logging.getLogger(__name__)

broker = setup_broker()

# Outlives any debounce delay; only matters if a message was lost, and the sweep covers that.
PENDING_TTL_MS = 60_000


def pending_key(organization_id: int) -> str:
    return f"scimgate:reconcile-pending:{organization_id}"


@dramatiq.actor(
    actor_name="roster.reconcile",
    queue_name="roster",
    max_retries=20,
    min_backoff=1_000,
    max_backoff=300_000,
    time_limit=15 * 60 * 1000,
)
def reconcile(organization_id: int) -> None:
    broker.client.delete(pending_key(organization_id))
    result = reconcile_organization(
        runtime.database(), organization_id, runtime.settings().reconcile_batch_size
    )
    if result.rows_applied:
        log.info(
            "reconciled organization %s: %s rows in %s batches, %s events",
            organization_id,
            result.rows_applied,
            result.batches,
            result.events_appended,
        )


def schedule_reconcile(organization_id: int, debounce_ms: int) -> None:
    """Called after a directory commit: enqueue a reconcile unless one is already pending."""
    try:
        if broker.client.set(pending_key(organization_id), "1", nx=True, px=PENDING_TTL_MS):
            reconcile.send_with_options(args=(organization_id,), delay=debounce_ms)
    except (redis.RedisError, OSError) as error:
        # The write is committed and its row is dirty; the sweep will enqueue it later.
        log.warning("could not enqueue reconcile for organization %s: %s", organization_id, error)


def request_reconcile(organization_id: int) -> None:
    """Enqueue a reconcile now, without debounce (operators and the sweep use this)."""
    reconcile.send(organization_id)
