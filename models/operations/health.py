"""What an operator watches across all organizations: work waiting in the database.

These are the only queries that deliberately span organizations: they count, they never
return a tenant's data. `models/operations/status.py` answers the same questions for one
organization.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from models.core.base import utcnow
from models.core.db import Database
from models.directory.tables import APPLIED_TABLES, dirty
from models.organizations.tables import Organization
from models.webhooks.tables import WebhookEndpoint


@dataclass(frozen=True)
class Backlog:
    """Work the database says is not done yet."""

    # Directory rows, users and groups, the roster has not caught up with.
    pending_changes: int
    # How long the oldest of them has waited; 0 when none waits.
    oldest_pending_seconds: float
    # Events committed but not yet acknowledged by a webhook endpoint, summed over endpoints.
    undelivered_events: int
    # Endpoints whose last delivery failed and has not succeeded since.
    failing_webhook_endpoints: int


def backlog(session: Session) -> Backlog:
    pending, oldest = directory_backlog(session)
    undelivered, failing = webhook_backlog(session)
    return Backlog(
        pending_changes=pending,
        oldest_pending_seconds=max((utcnow() - oldest).total_seconds(), 0.0) if oldest else 0.0,
        undelivered_events=undelivered,
        failing_webhook_endpoints=failing,
    )


def directory_backlog(
    session: Session, organization_id: int | None = None
) -> tuple[int, datetime | None]:
    """(dirty users and groups, the oldest one's `updated_at` or None), of every organization
    or of one; each table's count is served by its dirty-row index."""
    total, oldest_of_all = 0, None
    for table in APPLIED_TABLES:
        query = select(func.count(), func.min(table.updated_at)).where(dirty(table))
        if organization_id is not None:
            query = query.where(table.organization_id == organization_id)
        count, oldest = session.execute(query).one()
        total += int(count)
        if oldest is not None and (oldest_of_all is None or oldest < oldest_of_all):
            oldest_of_all = oldest
    return total, oldest_of_all


def webhook_backlog(session: Session) -> tuple[int, int]:
    """(events not yet acknowledged, endpoints currently failing), over every endpoint."""
    undelivered, failing = session.execute(
        select(
            func.coalesce(
                func.sum(Organization.event_sequence - WebhookEndpoint.delivered_sequence), 0
            ),
            func.count(WebhookEndpoint.failing_since),
        ).join(Organization, Organization.id == WebhookEndpoint.organization_id)
    ).one()
    return int(undelivered), int(failing)


def database_reachable(database: Database) -> None:
    """Raise unless the database answers a trivial query."""
    with database.reading() as session:
        session.execute(text("SELECT 1"))
