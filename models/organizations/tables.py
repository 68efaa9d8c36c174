"""Organizations and their email domains."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.core.base import Base, IntPK, Timestamp, UTCDateTime


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[IntPK]
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    scim_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Just-in-time provisioning on SSO login: on by default; while SCIM is on it also needs
    # `jit_with_scim`, because then the IdP's pushes are meant to be the source of truth.
    jit_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    jit_with_scim: Mapped[bool] = mapped_column(Boolean, default=False)
    # The most active members the organization pays for; None means no limit.
    seat_limit: Mapped[int | None] = mapped_column(Integer)
    # The last event sequence number handed out; bumped under the organization's row lock.
    event_sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[Timestamp]
    last_reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Domain(Base):
    __tablename__ = "domains"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[IntPK]
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(253))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by: Mapped[str | None] = mapped_column(String(200))
    # "dns" when the challenge TXT record was found, "operator" for an audited override.
    verification_method: Mapped[str | None] = mapped_column(String(16))
    # The value the organization publishes at `_scimgate-challenge.<name>` to prove control.
    challenge: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[Timestamp]
