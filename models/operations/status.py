"""How far behind an organization is: what an operator looks at first."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.core.base import utcnow
from models.operations.health import directory_backlog
from models.organizations.tables import Organization
from models.webhooks.tables import WebhookEndpoint


@dataclass(frozen=True)
class OrganizationStatus:
    organization: str
    scim_enabled: bool
    pending_changes: int
    oldest_pending_seconds: float | None
    last_reconciled_at: datetime | None
    events: int
    webhook_endpoints: int
    failing_webhook_endpoints: int
    undelivered_events: int

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.last_reconciled_at is not None:
            data["last_reconciled_at"] = self.last_reconciled_at.isoformat()
        return data


def organization_status(session: Session, organization: Organization) -> OrganizationStatus:
    pending, oldest = directory_backlog(session, organization.id)
    endpoints = session.execute(
        select(WebhookEndpoint.delivered_sequence, WebhookEndpoint.failing_since).where(
            WebhookEndpoint.organization_id == organization.id
        )
    ).all()
    return OrganizationStatus(
        organization=organization.slug,
        scim_enabled=organization.scim_enabled,
        pending_changes=pending,
        oldest_pending_seconds=(utcnow() - oldest).total_seconds() if oldest else None,
        last_reconciled_at=organization.last_reconciled_at,
        events=organization.event_sequence,
        webhook_endpoints=len(endpoints),
        failing_webhook_endpoints=sum(1 for _, failing in endpoints if failing is not None),
        undelivered_events=sum(
            organization.event_sequence - delivered for delivered, _ in endpoints
        ),
    )
