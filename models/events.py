"""The event log: every roster change, numbered without gaps per organization."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.base import new_id, utcnow
from models.tables import Event, Organization


class EventLog:
    """Appends events for one organization inside the caller's transaction.

    The caller must hold the organization's row lock (see `lock_organization`), which is what
    makes the sequence gapless: numbers are taken and used in the same transaction.
    """

    def __init__(self, session: Session, organization: Organization) -> None:
        self._session = session
        self._organization = organization
        self.appended: list[Event] = []

    def append(self, event_type: str, data: dict[str, Any]) -> Event:
        self._organization.event_sequence += 1
        event = Event(
            id=new_id(),
            organization_id=self._organization.id,
            sequence=self._organization.event_sequence,
            type=event_type,
            data=data,
            occurred_at=utcnow(),
        )
        self._session.add(event)
        self.appended.append(event)
        return event


def lock_organization(session: Session, organization_id: int) -> Organization:
    """Take the organization's row lock: the per-organization mutex of roster writers."""
    organization = session.scalar(
        select(Organization).where(Organization.id == organization_id).with_for_update()
    )
    if organization is None:
        raise LookupError(f"organization {organization_id} does not exist")
    return organization


def events_after(
    session: Session, organization_id: int, after_sequence: int = 0, limit: int = 100
) -> list[Event]:
    return list(
        session.scalars(
            select(Event)
            .where(Event.organization_id == organization_id, Event.sequence > after_sequence)
            .order_by(Event.sequence)
            .limit(limit)
        )
    )


def event_payload(event: Event, organization_slug: str) -> dict[str, Any]:
    """The public shape of an event, as webhooks and the feed deliver it."""
    return {
        "id": event.id,
        "organization": organization_slug,
        "sequence": event.sequence,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "data": event.data,
    }
