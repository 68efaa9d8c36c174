"""The event log: every roster change, numbered without gaps per organization."""

from __future__ import annotations

from typing import Any, TypedDict

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from models.core.base import new_id, utcnow
from models.core.sql import insert_rows
from models.events.tables import Event
from models.organizations.tables import Organization

_PENDING = "scimgate_pending_events"


class EventLog:
    """Appends events for one organization inside the caller's transaction.

    The caller must hold the organization's row lock (see `lock_organization`), which is what
    makes the sequence gapless: numbers are taken and used in the same transaction.

    Events are written as plain rows, many per statement, when the session next flushes (a
    query, or the commit): a roster batch appends hundreds, and ORM objects for rows that are
    never read back would cost more than the roster work itself.
    """

    def __init__(self, session: Session, organization: Organization) -> None:
        self._session = session
        self._organization = organization
        self.appended: list[dict[str, Any]] = []

    def append(self, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        self._organization.event_sequence += 1
        row = {
            "id": new_id(),
            "organization_id": self._organization.id,
            "sequence": self._organization.event_sequence,
            "type": event_type,
            "data": data,
            "occurred_at": utcnow(),
        }
        self._session.info.setdefault(_PENDING, []).append(row)
        self.appended.append(row)
        return row


@event.listens_for(Session, "before_flush")
def _write_pending_events(session: Session, _context: Any, _instances: Any) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        insert_rows(session, Event.__table__, pending)


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    # A commit with nothing else to flush has no flush to hook; write what is left here.
    _write_pending_events(session, None, None)


@event.listens_for(Session, "after_rollback")
def _forget_pending_events(session: Session) -> None:
    session.info.pop(_PENDING, None)


def lock_organization(session: Session, organization_id: int) -> Organization:
    """Take the organization's row lock: the per-organization mutex of roster writers.

    The lock is FOR NO KEY UPDATE, not FOR UPDATE. Every insert into a table that references
    the organization (directory rows, audit records, events) checks its foreign key with FOR
    KEY SHARE on this row, and FOR UPDATE conflicts with that: holding it for a roster batch
    stalled every SCIM write of the organization until the batch committed. FOR NO KEY UPDATE
    still excludes the other roster writers, and is what updating `event_sequence` takes anyway.
    """
    organization = session.scalar(
        select(Organization)
        .where(Organization.id == organization_id)
        .with_for_update(key_share=True)
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


class EventView(TypedDict):
    id: str
    organization: str
    sequence: int
    type: str
    occurred_at: str
    data: dict[str, Any]


def event_payload(event: Event, organization_slug: str) -> EventView:
    """The public shape of an event, as webhooks and the feed deliver it."""
    return {
        "id": event.id,
        "organization": organization_slug,
        "sequence": event.sequence,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "data": event.data,
    }
