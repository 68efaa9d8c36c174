"""Webhook endpoints: who receives an organization's events, how far each has got, and signing.

Delivery is at-least-once and in sequence order per endpoint: an endpoint's cursor
(`delivered_sequence`) only moves after the receiver acknowledged a batch with a 2xx, so a
crash anywhere re-sends, never skips. Receivers de-duplicate by event id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.core.base import utcnow
from models.core.errors import InvalidValue, NotFound
from models.events.log import event_payload, events_after
from models.organizations.tables import Organization
from models.webhooks.tables import WebhookEndpoint

SIGNATURE_HEADER = "Scimgate-Signature"
BATCH_SIZE = 100
ERROR_LENGTH = 500


@dataclass(frozen=True)
class Delivery:
    """The next batch one endpoint should receive, ready to send."""

    endpoint_id: int
    url: str
    secret: str
    body: dict[str, Any]
    # The endpoint's cursor when the batch was read, and where it moves once acknowledged.
    after_sequence: int
    last_sequence: int


def add_endpoint(session: Session, organization: Organization, url: str) -> tuple[int, str]:
    """Register an endpoint that will receive events from now on; returns (id, secret)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidValue(f"{url!r} is not an http(s) URL")
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        organization_id=organization.id,
        url=url,
        secret=secret,
        # A new endpoint starts at the present: history is available through replay.
        delivered_sequence=organization.event_sequence,
        consecutive_failures=0,
    )
    session.add(endpoint)
    session.flush()
    return endpoint.id, secret


def endpoints_of(session: Session, organization_id: int) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.organization_id == organization_id)
            .order_by(WebhookEndpoint.id)
        )
    )


def lagging_endpoints(session: Session) -> list[tuple[int, Any]]:
    """(endpoint id, last attempt) of every endpoint behind its organization's events."""
    query = (
        select(WebhookEndpoint.id, WebhookEndpoint.last_attempt_at)
        .join(Organization, Organization.id == WebhookEndpoint.organization_id)
        .where(WebhookEndpoint.delivered_sequence < Organization.event_sequence)
    )
    return [(endpoint_id, attempted) for endpoint_id, attempted in session.execute(query)]


def next_delivery(session: Session, endpoint_id: int) -> Delivery | None:
    row = session.execute(
        select(WebhookEndpoint, Organization.slug)
        .join(Organization, Organization.id == WebhookEndpoint.organization_id)
        .where(WebhookEndpoint.id == endpoint_id)
    ).one_or_none()
    if row is None:
        return None
    endpoint, slug = row
    events = events_after(
        session, endpoint.organization_id, endpoint.delivered_sequence, BATCH_SIZE
    )
    if not events:
        return None
    return Delivery(
        endpoint_id=endpoint.id,
        url=endpoint.url,
        secret=endpoint.secret,
        body={"organization": slug, "events": [event_payload(e, slug) for e in events]},
        after_sequence=endpoint.delivered_sequence,
        last_sequence=events[-1].sequence,
    )


def record_success(session: Session, delivery: Delivery) -> None:
    now = utcnow()
    session.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id == delivery.endpoint_id,
            # Compare-and-set: if a replay moved the cursor meanwhile, the replay wins.
            WebhookEndpoint.delivered_sequence == delivery.after_sequence,
        )
        .values(delivered_sequence=delivery.last_sequence)
    )
    session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == delivery.endpoint_id)
        .values(
            consecutive_failures=0,
            failing_since=None,
            last_error=None,
            last_attempt_at=now,
            last_success_at=now,
        )
    )


def record_failure(session: Session, endpoint_id: int, error: str) -> None:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        return
    now = utcnow()
    endpoint.consecutive_failures += 1
    endpoint.failing_since = endpoint.failing_since or now
    endpoint.last_error = error[:ERROR_LENGTH]
    endpoint.last_attempt_at = now


def replay(session: Session, organization_id: int, from_sequence: int) -> list[int]:
    """Send every event from `from_sequence` on again, to every endpoint of the organization."""
    endpoints = endpoints_of(session, organization_id)
    if not endpoints:
        raise NotFound("this organization has no webhook endpoints")
    for endpoint in endpoints:
        endpoint.delivered_sequence = max(from_sequence - 1, 0)
    return [endpoint.id for endpoint in endpoints]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: `t=<unix seconds>,v1=<hex HMAC-SHA256>`.

    The MAC covers `"<timestamp>." + body`, so a receiver can refuse old replays by checking
    the timestamp and cannot be fooled by a body moved under another timestamp.
    """
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does (and what our tests do): recompute and compare in constant time."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if "t" not in fields or "v1" not in fields or not fields["t"].isdigit():
        return False
    expected = sign(secret, int(fields["t"]), body)
    return hmac.compare_digest(expected, header)
