"""The roster's jobs: bring one organization's roster up to its directory, or repair it.

Enqueueing is debounced (workers/debounce.py): the first write of a burst sends one delayed
message, writes that find it pending send nothing. Nothing is lost if Redis drops the message
or is down: the directory row stays dirty and the clock's sweep enqueues it again.
"""

from __future__ import annotations

import logging

from models.operations.statistics import analyze_grown_tables
from models.roster.reconcile import full_reconcile, reconcile_organization
from workers import runtime
from workers.broker import actor
from workers.debounce import clear_pending, send_unless_pending
from workers.keys import ROSTER_QUEUE, reconcile_pending
from workers.webhooks import notify_endpoints

log = logging.getLogger(__name__)


@actor(
    actor_name="roster.reconcile",
    queue_name=ROSTER_QUEUE,
    max_retries=20,
    min_backoff=1_000,
    max_backoff=300_000,
    time_limit=15 * 60 * 1000,
)
def reconcile(organization_id: int) -> None:
    clear_pending(reconcile_pending(organization_id))
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
        analyze_grown_tables(runtime.database())
    if result.events_appended:
        notify_endpoints(organization_id)


def schedule_reconcile(organization_id: int, debounce_ms: int) -> None:
    """Called after a directory commit: enqueue a reconcile unless one is already pending."""
    send_unless_pending(
        reconcile, reconcile_pending(organization_id), (organization_id,), debounce_ms
    )


def request_reconcile(organization_id: int) -> None:
    """Enqueue a reconcile now, without debounce (operators and the sweep use this)."""
    reconcile.send(organization_id)


@actor(
    actor_name="roster.full_reconcile",
    queue_name=ROSTER_QUEUE,
    max_retries=5,
    time_limit=60 * 60 * 1000,
)
def full_reconcile_organization(organization_id: int) -> None:
    """Compare the whole roster with the directory and repair what drifted."""
    result = full_reconcile(
        runtime.database(), organization_id, runtime.settings().reconcile_batch_size
    )
    log.info(
        "full reconcile of organization %s: %s rows compared, %s repairs",
        organization_id,
        result.rows_applied,
        result.events_appended,
    )
    if result.events_appended:
        notify_endpoints(organization_id)
