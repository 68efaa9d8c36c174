"""Group memberships in the directory: one row per (group, user), never a rewritten list.

Every statement starts from `memberships_of(organization_id)`. Both the group service and
the user service use these helpers, so they live apart from either.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Select, delete, insert, literal, select, update
from sqlalchemy.orm import Session

from models.core.base import utcnow
from models.core.sql import insert_rows
from models.directory.tables import (
    DirectoryGroup,
    DirectoryGroupMember,
    DirectoryGroupMemberChange,
    DirectoryUser,
)

# Ids per IN (...) list: well under SQLite's limit on bound parameters.
CHUNK = 500

T = TypeVar("T")


@dataclass(frozen=True)
class GroupRef:
    """A group a user belongs to, as the User's `groups` attribute shows it."""

    id: str
    display_name: str


def memberships_of(organization_id: int) -> Select[DirectoryGroupMember]:
    """Every membership row of one organization: the root of every membership query."""
    return select(DirectoryGroupMember).where(
        DirectoryGroupMember.organization_id == organization_id
    )


def chunked(ids: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """The ids in lists of at most `size`, for IN (...) clauses."""
    batch: list[T] = []
    for item in ids:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def detach_user_from_groups(session: Session, organization_id: int, user_id: str) -> int:
    """Take a deleted user out of every group, marking those groups changed; returns how many."""
    group_ids = list(
        session.scalars(
            memberships_of(organization_id)
            .where(DirectoryGroupMember.user_id == user_id)
            .with_only_columns(DirectoryGroupMember.group_id)
        )
    )
    if not group_ids:
        return 0
    session.execute(
        delete(DirectoryGroupMember)
        .where(
            DirectoryGroupMember.organization_id == organization_id,
            DirectoryGroupMember.user_id == user_id,
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(DirectoryGroup)
        .where(
            DirectoryGroup.organization_id == organization_id,
            DirectoryGroup.id.in_(group_ids),
        )
        .values(
            version=DirectoryGroup.version + 1,
            generation=DirectoryGroup.generation + 1,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    # Under each group's new generation, so the roster applies this user alone.
    touched_groups = select(
        DirectoryGroup.id,
        DirectoryGroup.generation,
        literal(user_id),
        DirectoryGroup.organization_id,
    ).where(DirectoryGroup.organization_id == organization_id, DirectoryGroup.id.in_(group_ids))
    session.execute(
        insert(DirectoryGroupMemberChange).from_select(
            ["group_id", "generation", "user_id", "organization_id"], touched_groups
        )
    )
    return len(group_ids)


def record_member_changes(
    session: Session, organization_id: int, group_id: str, generation: int, user_ids: set[str]
) -> None:
    """Note the users whose membership of a group changed at this generation of the group."""
    insert_rows(
        session,
        DirectoryGroupMemberChange.__table__,
        [
            {
                "group_id": group_id,
                "generation": generation,
                "user_id": user_id,
                "organization_id": organization_id,
            }
            for user_id in sorted(user_ids)
        ],
    )


def groups_of_users(
    session: Session, organization_id: int, user_ids: list[str]
) -> dict[str, list[GroupRef]]:
    """The live groups each of the given users belongs to, by user id."""
    found: dict[str, list[GroupRef]] = {}
    for batch in chunked(user_ids):
        query = (
            memberships_of(organization_id)
            .with_only_columns(
                DirectoryGroupMember.user_id, DirectoryGroup.id, DirectoryGroup.display_name
            )
            .join(DirectoryGroup, DirectoryGroup.id == DirectoryGroupMember.group_id)
            .where(
                DirectoryGroupMember.user_id.in_(batch),
                DirectoryGroup.organization_id == organization_id,
                DirectoryGroup.deleted_at.is_(None),
            )
            .order_by(DirectoryGroup.display_name, DirectoryGroup.id)
        )
        for user_id, group_id, display_name in session.execute(query):
            found.setdefault(user_id, []).append(GroupRef(group_id, display_name))
    return found


def live_user_ids(session: Session, organization_id: int, user_ids: Iterable[str]) -> set[str]:
    """Which of the given ids are live users of this organization."""
    found: set[str] = set()
    for batch in chunked(sorted(set(user_ids))):
        found.update(
            session.scalars(
                select(DirectoryUser.id).where(
                    DirectoryUser.organization_id == organization_id,
                    DirectoryUser.deleted_at.is_(None),
                    DirectoryUser.id.in_(batch),
                )
            )
        )
    return found
