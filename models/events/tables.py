"""The event log's rows: every roster change, numbered without gaps per organization."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.core.base import Base, Document, Timestamp, UuidPK


class Event(Base):
    """One roster change, numbered without gaps per organization, for webhooks and the feed."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("organization_id", "sequence"),)

    id: Mapped[UuidPK]
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(Document)
    occurred_at: Mapped[Timestamp]
