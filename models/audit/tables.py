"""The audit trail's rows: one per SCIM request and per operator action."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.core.base import Base, Document, Timestamp


class AuditRecord(Base):
    """One SCIM request or admin action; never a secret or a body.

    An action on the deployment itself (an operator token created) has no organization.
    """

    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    occurred_at: Mapped[Timestamp]
    # "scim" for a request of the IdP, "admin" for an operator's action.
    kind: Mapped[str] = mapped_column(String(16))
    # Who: "scim token abcd1234", "operator alice", "cli root".
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(8))
    path: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    token_prefix: Mapped[str | None] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(Document)


Index("ix_audit_records_organization_id_id", AuditRecord.organization_id, AuditRecord.id)


Index("ix_audit_records_occurred_at", AuditRecord.occurred_at)
