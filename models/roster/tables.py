"""The roster's tables: accounts, members and teams, as the product enforces them.

Only workers, and JIT provisioning on SSO login, write them (the directory is what the IdP
said; this is what was applied of it).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from models.core.base import Base, IntPK, Timestamp


class Account(Base):
    """A person of the product, one per email; an account may belong to many organizations."""

    __tablename__ = "accounts"

    id: Mapped[IntPK]
    email: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[Timestamp]


class MemberStatus(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    REMOVED = "removed"
    # The IdP says active, but every seat is taken: applied as soon as one frees up.
    PENDING_SEAT = "pending_seat"


class MemberSource(StrEnum):
    """Who made a member: the IdP over SCIM, or the person's own SSO login (JIT)."""

    SCIM = "scim"
    JIT = "jit"


class Role(StrEnum):
    """What a member may do in the product, as the IdP's `role` attribute names it."""

    MEMBER = "member"
    EDITOR = "editor"
    OWNER = "owner"

    @classmethod
    def named(cls, value: object) -> Role | None:
        """The role `value` names, or None: for a value of any type, as IdPs send anything."""
        return next((role for role in cls if role == value), None)


# A member whose IdP sends no role, or one scimgate does not know.
DEFAULT_ROLE = Role.MEMBER


class Member(Base):
    """An account's place in one organization: what the product enforces."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("organization_id", "account_id"),)

    id: Mapped[IntPK]
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    role: Mapped[str] = mapped_column(String(32), default=DEFAULT_ROLE)
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
    sqlite_where=Member.status == MemberStatus.PENDING_SEAT,
    postgresql_where=Member.status == MemberStatus.PENDING_SEAT,
)


class TeamStatus(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


class Team(Base):
    """A team of the product: made from a SCIM Group, or on demand from a User's `team`."""

    __tablename__ = "teams"

    id: Mapped[IntPK]
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(16), default=MemberSource.SCIM)
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
