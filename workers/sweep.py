"""The sweep: find organizations whose dirty rows waited too long, and enqueue them again."""

from __future__ import annotations

import logging
from datetime import timedelta

import dramatiq
from sqlalchemy import select

from models.base import utcnow
from models.tables import DirectoryUser
from workers import runtime
from workers.reconcile import broker, request_reconcile

log = logging.getLogger(__name__)

# A row dirty for longer than this has probably lost its job (Redis down, message dropped).
STALE_AFTER = timedelta(seconds=5)
# While workers are down, the sweep re-sends at most one job per organization this often.
RESEND_EVERY_SECONDS = 60


def stale_organizations() -> list[int]:
    cutoff = utcnow() - STALE_AFTER
    with runtime.database().reading() as session:
        return list(
            session.scalars(
                select(DirectoryUser.organization_id)
                .distinct()
                .where(
                    DirectoryUser.generation > DirectoryUser.applied_generation,
                    DirectoryUser.updated_at < cutoff,
                )
            )
        )


@dramatiq.actor(actor_name="maintenance.sweep", queue_name="maintenance", max_retries=0)
def sweep() -> None:
    for organization_id in stale_organizations():
        key = f"scimgate:sweep-sent:{organization_id}"
        if broker.client.set(key, "1", nx=True, ex=RESEND_EVERY_SECONDS):
            log.info("sweep: organization %s has stale changes; enqueueing", organization_id)
            request_reconcile(organization_id)
