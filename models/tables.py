"""Every table of scimgate: organizations, the directory (desired), the roster (applied), events.

Also what an admin manages around SCIM: SSO connections, operator tokens and the audit trail.

The directory holds what the IdP said; only the API writes it. The roster holds what the
product enforces; only workers (and JIT provisioning on SSO login) write it. A directory
row is dirty while `generation > applied_generation`, which makes the row itself the outbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Document, IntPK, Timestamp, UTCDateTime, UuidPK

# The most characters a SCIM name (userName, externalId, displayName, a member's display) may
# have: what their columns hold. Checked before writing, since PostgreSQL refuses a longer one
# with an error and SQLite would store it whole.
SCIM_NAME_LENGTH = 255


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


class AuditRecord(Base):
    """One SCIM request or admin action on an organization; never a secret or a body."""

    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
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


class DirectoryUser(Base):
    """A SCIM User as the IdP last sent it: the canonical document plus indexed columns."""

    __tablename__ = "directory_users"

    id: Mapped[UuidPK]
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_name: Mapped[str] = mapped_column(String(SCIM_NAME_LENGTH))
    external_id: Mapped[str | None] = mapped_column(String(SCIM_NAME_LENGTH))
    display_name: Mapped[str | None] = mapped_column(String(SCIM_NAME_LENGTH))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The SCIM attributes without `id` and `meta`, which are derived from the columns.
    document: Mapped[dict[str, Any]] = mapped_column(Document)
    # The ETag: bumped by every change a client can see.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Bumped only by changes the roster cares about; the worker catches up to it.
    generation: Mapped[int] = mapped_column(Integer, default=1)
    applied_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]
    # A deleted user stays as a tombstone until the roster has applied its removal.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


Index(
    "uq_directory_users_organization_user_name",
    DirectoryUser.organization_id,
    func.lower(DirectoryUser.user_name),
    unique=True,
    sqlite_where=DirectoryUser.deleted_at.is_(None),
    postgresql_where=DirectoryUser.deleted_at.is_(None),
)
Index(
    "ix_directory_users_organization_external_id",
    DirectoryUser.organization_id,
    DirectoryUser.external_id,
)
# Every listing is ordered by (created_at, id) within an organization (migration 0003).
Index(
    "ix_directory_users_listing_order",
    DirectoryUser.organization_id,
    DirectoryUser.created_at,
    DirectoryUser.id,
    sqlite_where=DirectoryUser.deleted_at.is_(None),
    postgresql_where=DirectoryUser.deleted_at.is_(None),
)
# A roster batch claims the oldest dirty users: a range scan of this index up to its limit.
Index(
    "ix_directory_users_dirty",
    DirectoryUser.organization_id,
    DirectoryUser.updated_at,
    DirectoryUser.id,
    sqlite_where=DirectoryUser.generation > DirectoryUser.applied_generation,
    postgresql_where=DirectoryUser.generation > DirectoryUser.applied_generation,
)


class Account(Base):
    """A person of the product, one per email; an account may belong to many organizations."""

    __tablename__ = "accounts"

    id: Mapped[IntPK]
    email: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[Timestamp]


class Member(Base):
    """An account's place in one organization: what the product enforces."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("organization_id", "account_id"),)

    id: Mapped[IntPK]
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    role: Mapped[str] = mapped_column(String(32), default="member")
    status: Mapped[str] = mapped_column(String(32))
    # Why the member is not active although the IdP says so (the seat limit, for now).
    status_reason: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(255))
    # The directory row that last decided this member; a stale tombstone cannot remove it.
    directory_user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]


# Members waiting for a seat, longest waiting first: every roster batch looks for them.
Index(
    "ix_members_pending_seat",
    Member.organization_id,
    Member.updated_at,
    Member.id,
    sqlite_where=Member.status == "pending_seat",
    postgresql_where=Member.status == "pending_seat",
)


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


class DirectoryGroup(Base):
    """A SCIM Group as the IdP last sent it, without its members (see DirectoryGroupMember)."""

    __tablename__ = "directory_groups"

    id: Mapped[UuidPK]
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    display_name: Mapped[str] = mapped_column(String(SCIM_NAME_LENGTH))
    external_id: Mapped[str | None] = mapped_column(String(SCIM_NAME_LENGTH))
    # The SCIM attributes without `id`, `meta` and `members`.
    document: Mapped[dict[str, Any]] = mapped_column(Document)
    version: Mapped[int] = mapped_column(Integer, default=1)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    applied_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


Index(
    "uq_directory_groups_organization_display_name",
    DirectoryGroup.organization_id,
    func.lower(DirectoryGroup.display_name),
    unique=True,
    sqlite_where=DirectoryGroup.deleted_at.is_(None),
    postgresql_where=DirectoryGroup.deleted_at.is_(None),
)
Index(
    "ix_directory_groups_organization_external_id",
    DirectoryGroup.organization_id,
    DirectoryGroup.external_id,
)
Index(
    "ix_directory_groups_dirty",
    DirectoryGroup.organization_id,
    DirectoryGroup.updated_at,
    sqlite_where=DirectoryGroup.generation > DirectoryGroup.applied_generation,
    postgresql_where=DirectoryGroup.generation > DirectoryGroup.applied_generation,
)


class DirectoryGroupMember(Base):
    """One user in one group: a row each, so a membership change never rewrites a list."""

    __tablename__ = "directory_group_members"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("directory_groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("directory_users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    # The member's display as the IdP sent it (Okta sends the login); None if it sent none.
    display: Mapped[str | None] = mapped_column(String(SCIM_NAME_LENGTH))


class DirectoryGroupMemberChange(Base):
    """A user whose membership of a group changed at one of the group's generations.

    Written with the change, so that applying a group touches only the members that changed
    rather than comparing every member of a large group. A generation the API bumped
    without rows here (a rename, a removal of every member, a drift repair) asks the roster
    to compare the whole group.
    """

    __tablename__ = "directory_group_member_changes"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("directory_groups.id", ondelete="CASCADE"), primary_key=True
    )
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))


class TeamStatus:
    ACTIVE = "active"
    DELETED = "deleted"


class Team(Base):
    """A team of the product: made from a SCIM Group, or on demand from a User's `team`."""

    __tablename__ = "teams"

    id: Mapped[IntPK]
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(16), default="scim")
    # The group this team mirrors; None for a team that only the `team` attribute names.
    directory_group_id: Mapped[str | None] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(16), default=TeamStatus.ACTIVE)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]


Index(
    "uq_teams_organization_name",
    Team.organization_id,
    func.lower(Team.name),
    unique=True,
    sqlite_where=Team.status == TeamStatus.ACTIVE,
    postgresql_where=Team.status == TeamStatus.ACTIVE,
)


class TeamMember(Base):
    """A member in a team, for either or both reasons: its group, or the member's `team`."""

    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    via_group: Mapped[bool] = mapped_column(Boolean, default=False)
    via_attribute: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[Timestamp]


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
