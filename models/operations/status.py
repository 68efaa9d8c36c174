"""How far behind an organization is: what an operator looks at first."""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.core.base import iso, utcnow
from models.operations.health import directory_backlog
from models.organizations.tables import Organization
from models.webhooks.tables import WebhookEndpoint


class OrganizationStatus(TypedDict):
    organization: str
    scim_enabled: bool
    # Dirty directory rows, users and groups, and how long the oldest has waited.
    pending_changes: int
    oldest_pending_seconds: float | None
    last_reconciled_at: str | None
    events: int
    webhook_endpoints: int
    failing_webhook_endpoints: int
    undelivered_events: int


def organization_status(session: Session, organization: Organization) -> OrganizationStatus:
    pending, oldest = directory_backlog(session, organization.id)
    endpoints = session.execute(
        select(WebhookEndpoint.delivered_sequence, WebhookEndpoint.failing_since).where(
            WebhookEndpoint.organization_id == organization.id
        )
    ).all()
    return {
        "organization": organization.slug,
        "scim_enabled": organization.scim_enabled,
        "pending_changes": pending,
        "oldest_pending_seconds": (utcnow() - oldest).total_seconds() if oldest else None,
        "last_reconciled_at": iso(organization.last_reconciled_at),
        "events": organization.event_sequence,
        "webhook_endpoints": len(endpoints),
        "failing_webhook_endpoints": sum(1 for _, failing in endpoints if failing is not None),
        "undelivered_events": sum(
            organization.event_sequence - delivered for delivered, _ in endpoints
        ),
    }
