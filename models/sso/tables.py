"""An organization's SAML identity provider, as registered from its metadata."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.core.base import Base, Document, IntPK, Timestamp


class SsoConnection(Base):
    """An organization's SAML identity provider, as its metadata described it."""

    __tablename__ = "sso_connections"

    id: Mapped[IntPK]
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    entity_id: Mapped[str] = mapped_column(String(1024))
    sso_url: Mapped[str] = mapped_column(String(2048))
    # Base64 DER certificates the IdP signs with (two while it rolls its key over).
    signing_certificates: Mapped[list[str]] = mapped_column(Document)
    metadata_xml: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]
