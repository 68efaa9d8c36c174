"""Webhook endpoints: where an organization's events go, and how far each has got."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.core.base import Base, IntPK, Timestamp, UTCDateTime


class WebhookEndpoint(Base):
    """A consumer of one organization's events, delivered in sequence order, signed."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[IntPK]
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    # Kept as given: signing needs the secret itself. It is shown once and never logged.
    secret: Mapped[str] = mapped_column(String(128))
    # Every event up to this sequence number has been delivered (acknowledged with a 2xx).
    delivered_sequence: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[Timestamp]
