"""The directory's tables: what the IdP said (desired); only the API writes them.

A directory row is dirty while `generation > applied_generation`, which makes the row
itself the outbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from models.core.base import Base, Document, Timestamp, UTCDateTime, UuidPK

# The most characters a SCIM name (userName, externalId, displayName, a member's display) may
# have: what their columns hold. Checked before writing, since PostgreSQL refuses a longer one
# with an error and SQLite would store it whole.
SCIM_NAME_LENGTH = 255


class AppliedRow:
    """What a directory row the roster applies has, users and groups alike."""

    # The SCIM attributes as stored: not `id` and `meta`, which the columns give, nor a
    # group's `members`, which are rows of their own.
    document: Mapped[dict[str, Any]] = mapped_column(Document)
    # The ETag: bumped by every change a client can see.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Bumped only by changes the roster cares about; the worker catches up to it.
    generation: Mapped[int] = mapped_column(Integer, default=1)
    applied_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]
    # A deleted row stays as a tombstone until the roster has applied its removal.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def dirty(table: type[AppliedRow]) -> ColumnElement[bool]:
    """A row the roster has not applied yet: the outbox's one condition."""
    return table.generation > table.applied_generation


class DirectoryUser(AppliedRow, Base):
    """A SCIM User as the IdP last sent it: the canonical document plus indexed columns."""

    __tablename__ = "directory_users"

    id: Mapped[UuidPK]
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_name: Mapped[str] = mapped_column(String(SCIM_NAME_LENGTH))
    external_id: Mapped[str | None] = mapped_column(String(SCIM_NAME_LENGTH))
    display_name: Mapped[str | None] = mapped_column(String(SCIM_NAME_LENGTH))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


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
    sqlite_where=dirty(DirectoryUser),
    postgresql_where=dirty(DirectoryUser),
)


class DirectoryGroup(AppliedRow, Base):
    """A SCIM Group as the IdP last sent it, without its members (see DirectoryGroupMember)."""

    __tablename__ = "directory_groups"

    id: Mapped[UuidPK]
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    display_name: Mapped[str] = mapped_column(String(SCIM_NAME_LENGTH))
    external_id: Mapped[str | None] = mapped_column(String(SCIM_NAME_LENGTH))


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
    sqlite_where=dirty(DirectoryGroup),
    postgresql_where=dirty(DirectoryGroup),
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


# The tables whose rows the roster applies, each dirty while `dirty()` holds for a row.
APPLIED_TABLES = (DirectoryUser, DirectoryGroup)
