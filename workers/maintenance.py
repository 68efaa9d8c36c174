"""Maintenance: the sweep that re-sends lost jobs, the daily drift repair, the audit purge.

Redis may drop a message or be down when a write commits; the state that needed the job is in
the database (a dirty row, an endpoint behind the event log), so the sweep finds it there.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, union

from models.audit.trail import purge_audit as purge_audit_records
from models.core.base import utcnow
from models.directory.tables import APPLIED_TABLES, dirty
from models.organizations.tables import Organization
from models.roster.reconcile import organizations_with_waiting_members
from models.webhooks.endpoints import lagging_endpoints
from workers import runtime
from workers.broker import actor, installed_broker
from workers.keys import MAINTENANCE_QUEUE, sweep_resent
from workers.roster import full_reconcile_organization, request_reconcile
from workers.webhooks import deliver

log = logging.getLogger(__name__)

# A row dirty for longer than this has probably lost its job (Redis down, message dropped).
STALE_AFTER = timedelta(seconds=5)
# While workers are down, the sweep re-sends at most one job per target this often.
RESEND_EVERY_SECONDS = 60


def stale_organizations() -> list[int]:
    """Organizations with changes waiting too long, or members waiting for a seat."""
    cutoff = utcnow() - STALE_AFTER
    stale = union(
        *(
            select(table.organization_id).where(dirty(table), table.updated_at < cutoff)
            for table in APPLIED_TABLES
        )
    )
    with runtime.database().reading() as session:
        behind: set[int] = set(session.scalars(select(stale.subquery().c.organization_id)))
        return organizations_with_waiting_members(session) + sorted(behind)


def stalled_endpoints() -> list[int]:
    """Endpoints behind the log whose last attempt (if any) is older than STALE_AFTER."""
    cutoff = utcnow() - STALE_AFTER
    with runtime.database().reading() as session:
        return [
            endpoint_id
            for endpoint_id, attempted in lagging_endpoints(session)
            if attempted is None or attempted < cutoff
        ]


def _resend_allowed(target: str) -> bool:
    client = installed_broker().client
    return bool(client.set(sweep_resent(target), "1", nx=True, ex=RESEND_EVERY_SECONDS))


@actor(actor_name="maintenance.sweep", queue_name=MAINTENANCE_QUEUE, max_retries=0)
def sweep() -> None:
    for organization_id in stale_organizations():
        if _resend_allowed(f"reconcile:{organization_id}"):
            log.info("sweep: organization %s has waiting changes; enqueueing", organization_id)
            request_reconcile(organization_id)
    for endpoint_id in stalled_endpoints():
        if _resend_allowed(f"webhook:{endpoint_id}"):
            log.info("sweep: webhook endpoint %s is behind; enqueueing delivery", endpoint_id)
            deliver.send(endpoint_id)


@actor(actor_name="maintenance.daily", queue_name=MAINTENANCE_QUEUE, max_retries=3)
def daily() -> None:
    """Once a day: a full reconcile of every organization with SCIM on."""
    with runtime.database().reading() as session:
        organization_ids = list(
            session.scalars(select(Organization.id).where(Organization.scim_enabled.is_(True)))
        )
    for organization_id in organization_ids:
        full_reconcile_organization.send(organization_id)


@actor(actor_name="maintenance.purge_audit", queue_name=MAINTENANCE_QUEUE, max_retries=3)
def purge_audit() -> None:
    """Drop audit records past the configured retention."""
    retention_days = runtime.settings().audit_retention_days
    removed = purge_audit_records(runtime.database(), retention_days)
    if removed:
        log.info("purged %s audit records older than %s days", removed, retention_days)
