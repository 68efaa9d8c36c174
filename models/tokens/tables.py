"""Bearer credentials, stored as digests: SCIM tokens and operator tokens.

A SCIM token belongs to one organization; an operator token to the deployment.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.core.base import Base, IntPK, Timestamp, UTCDateTime


class ScimToken(Base):
    """A bearer token for one organization's SCIM endpoint; only its SHA-256 is kept."""

    __tablename__ = "scim_tokens"

    id: Mapped[IntPK]
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[Timestamp]
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OperatorToken(Base):
    """A bearer token for the admin API; never a SCIM token (another table, another marker)."""

    __tablename__ = "operator_tokens"

    id: Mapped[IntPK]
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[Timestamp]
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
