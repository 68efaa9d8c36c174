"""Directory groups: what the IdP said about groups, written synchronously by the API.

A group's document never holds its members: each membership is a row of
`directory_group_members`, so adding or removing one member costs the same in a group of ten
or of fifty thousand. A change also notes the users it touched in
`directory_group_member_changes`, under the generation it gives the group, so that the
roster applies those users only. Every statement starts from `groups_of(organization_id)` or
`memberships_of(organization_id)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Result,
    Select,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from models.core.base import utcnow
from models.core.db import Database
from models.core.errors import Conflict, InvalidValue, NotFound
from models.core.paging import FetchedPage, PageSpec, fetch_page
from models.core.sql import flush_unique
from models.directory.memberships import (
    chunked,
    live_user_ids,
    memberships_of,
    record_member_changes,
)
from models.directory.tables import DirectoryGroup, DirectoryGroupMember, DirectoryUser
from models.directory.users import ChangeListener, check_if_match


@dataclass(frozen=True)
class GroupWrite:
    """A validated Group document (without members) and the columns derived from it."""

    document: dict[str, Any]
    display_name: str
    external_id: str | None


class MembershipAction(StrEnum):
    ADD = "add"
    REMOVE = "remove"
    REMOVE_ALL = "remove_all"
    REPLACE = "replace"


@dataclass(frozen=True)
class MemberRef:
    """A member a request names: a user's id, and the display the IdP sent with it, if any."""

    user_id: str
    display: str | None = None


@dataclass(frozen=True)
class MembershipStep:
    """One change to a group's members; a request's steps apply in order, all or none."""

    action: MembershipAction
    members: tuple[MemberRef, ...] = ()


@dataclass(frozen=True)
class GroupChange:
    """What a PATCH or PUT asks of a group: its new document and its membership steps."""

    write: GroupWrite
    steps: list[MembershipStep] = field(default_factory=list)


@dataclass(frozen=True)
class GroupMemberView:
    """A member as a Group shows it: the user's id and a name to display."""

    user_id: str
    display: str


@dataclass(frozen=True)
class ListedGroup:
    """A group of a listed page, with its members when they were asked for."""

    id: str
    document: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int
    members: list[GroupMemberView] | None


_LISTED_GROUP_COLUMNS = (
    DirectoryGroup.id,
    DirectoryGroup.document,
    DirectoryGroup.created_at,
    DirectoryGroup.updated_at,
    DirectoryGroup.version,
)


def groups_of(organization_id: int) -> Select[DirectoryGroup]:
    """Every live directory group of one organization: the root of every group query."""
    return select(DirectoryGroup).where(
        DirectoryGroup.organization_id == organization_id, DirectoryGroup.deleted_at.is_(None)
    )


class GroupService:
    """Group writes and reads for the API; one transaction per call."""

    def __init__(self, database: Database, on_change: ChangeListener | None = None) -> None:
        self._database = database
        self._on_change = on_change or (lambda _organization_id: None)

    def get_group(
        self, organization_id: int, group_id: str, with_members: bool = True
    ) -> tuple[DirectoryGroup, list[GroupMemberView] | None]:
        with self._database.reading() as session:
            row = self._load(session, organization_id, group_id)
            members = (
                _member_views(session, organization_id, [row.id]).get(row.id, [])
                if with_members
                else None
            )
            return row, members

    def lister(self, with_members: bool) -> Callable[[int, Any, PageSpec], FetchedPage]:
        """A page fetcher for the list and search machinery, with or without members."""

        def fetch(
            organization_id: int, condition: ColumnElement[bool] | None, page: PageSpec
        ) -> FetchedPage:
            return self.list_groups(organization_id, condition, page, with_members)

        return fetch

    def list_groups(
        self,
        organization_id: int,
        condition: ColumnElement[bool] | None,
        page: PageSpec,
        with_members: bool = True,
    ) -> FetchedPage:
        """One page of the organization's groups as ListedGroup rows.

        Members are read for the page's groups in one query, and not at all when the client
        excluded them (Entra ID's lookups by displayName always do).
        """
        query = groups_of(organization_id).with_only_columns(*_LISTED_GROUP_COLUMNS)
        if condition is not None:
            query = query.where(condition)
        with self._database.reading() as session:
            fetched = fetch_page(session, query, page)
            members = (
                _member_views(session, organization_id, [row.id for row in fetched.rows])
                if with_members
                else {}
            )
        rows = [
            ListedGroup(
                id=row.id,
                document=row.document,
                created_at=row.created_at,
                updated_at=row.updated_at,
                version=row.version,
                members=members.get(row.id) if with_members else None,
            )
            for row in fetched.rows
        ]
        return replace(fetched, rows=rows)

    def create_group(
        self, organization_id: int, write: GroupWrite, members: Sequence[MemberRef] = ()
    ) -> DirectoryGroup:
        with self._database.writing() as session:
            self._check_unique(session, organization_id, write.display_name, exclude_id=None)
            now = utcnow()
            row = DirectoryGroup(
                organization_id=organization_id,
                display_name=write.display_name,
                external_id=write.external_id,
                document=write.document,
                version=1,
                generation=1,
                applied_generation=0,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            flush_unique(session, _name_taken(write.display_name))
            _Members(session, organization_id, row.id).add(members)
        self._on_change(organization_id)
        return row

    def change_group(
        self,
        organization_id: int,
        group_id: str,
        change: GroupChange | Callable[[DirectoryGroup], GroupChange],
        if_match: str | None = None,
    ) -> DirectoryGroup:
        """Apply a new document and membership steps; what changes nothing bumps nothing.

        `change` may be a function of the current row, so that a PATCH is computed from the
        version it changes inside the same transaction (which holds the group's row lock).
        """
        with self._database.writing() as session:
            row = self._load(session, organization_id, group_id, for_update=True)
            check_if_match(f"Group {row.id}", row.version, if_match)
            if callable(change):
                change = change(row)
            write = change.write
            renamed = write.display_name != row.display_name
            if renamed and write.display_name.lower() != row.display_name.lower():
                self._check_unique(session, organization_id, write.display_name, row.id)
            members = _Members(session, organization_id, row.id)
            for step in change.steps:
                members.apply(step)
            if write.document == row.document and not (members.changed or members.relabelled):
                return row
            row.display_name = write.display_name
            row.external_id = write.external_id
            row.document = write.document
            row.version += 1
            row.updated_at = utcnow()
            if renamed or members.changed:
                row.generation += 1
                if members.touched is not None:
                    record_member_changes(
                        session, organization_id, row.id, row.generation, members.touched
                    )
            flush_unique(session, _name_taken(write.display_name))
        if renamed or members.changed:
            self._on_change(organization_id)
        return row

    def delete_group(
        self, organization_id: int, group_id: str, if_match: str | None = None
    ) -> None:
        """Hide the group at once; the row stays as a tombstone until its team is deleted."""
        with self._database.writing() as session:
            row = self._load(session, organization_id, group_id, for_update=True)
            check_if_match(f"Group {row.id}", row.version, if_match)
            row.deleted_at = utcnow()
            row.updated_at = row.deleted_at
            row.version += 1
            row.generation += 1
        self._on_change(organization_id)

    @staticmethod
    def _load(
        session: Session, organization_id: int, group_id: str, for_update: bool = False
    ) -> DirectoryGroup:
        query = groups_of(organization_id).where(DirectoryGroup.id == group_id)
        if for_update:
            query = query.with_for_update()
        row = session.scalar(query)
        if row is None:
            raise NotFound(f"Group {group_id} not found")
        return row

    @staticmethod
    def _check_unique(
        session: Session, organization_id: int, display_name: str, exclude_id: str | None
    ) -> None:
        query = groups_of(organization_id).where(
            func.lower(DirectoryGroup.display_name) == display_name.lower()
        )
        if exclude_id is not None:
            query = query.where(DirectoryGroup.id != exclude_id)
        if session.scalar(query.with_only_columns(DirectoryGroup.id)) is not None:
            raise _name_taken(display_name)


class _Members:
    """Membership steps on one group, each costing what it touches, not the group's size."""

    def __init__(self, session: Session, organization_id: int, group_id: str) -> None:
        self._session = session
        self._organization_id = organization_id
        self._group_id = group_id
        # Who is in the group changed (the roster cares), or only a member's display did.
        self.changed = False
        self.relabelled = False
        # Every user whose membership may have changed; None once that is not known (all
        # members removed), and the roster then compares the whole group.
        self.touched: set[str] | None = set()

    def apply(self, step: MembershipStep) -> None:
        if step.action == MembershipAction.ADD:
            self.add(step.members)
        elif step.action == MembershipAction.REMOVE:
            self.remove([member.user_id for member in step.members])
        elif step.action == MembershipAction.REMOVE_ALL:
            self.remove_all()
        else:
            self.replace(step.members)

    def add(self, members: Sequence[MemberRef]) -> None:
        wanted = {member.user_id: member.display for member in members}
        if not wanted:
            return
        self._check_users(set(wanted))
        present = self._present(set(wanted))
        missing = sorted(wanted.keys() - present.keys())
        self._touch(missing)
        if missing:
            self._session.execute(
                insert(DirectoryGroupMember),
                [
                    {
                        "group_id": self._group_id,
                        "user_id": user_id,
                        "organization_id": self._organization_id,
                        "display": wanted[user_id],
                    }
                    for user_id in missing
                ],
            )
            self.changed = True
        for user_id, display in wanted.items():
            if user_id in present and display is not None and display != present[user_id]:
                self._session.execute(
                    update(DirectoryGroupMember)
                    .where(
                        DirectoryGroupMember.group_id == self._group_id,
                        DirectoryGroupMember.user_id == user_id,
                    )
                    .values(display=display)
                    .execution_options(synchronize_session=False)
                )
                self.relabelled = True

    def remove(self, user_ids: Sequence[str]) -> None:
        self._touch(user_ids)
        for batch in chunked(sorted(set(user_ids))):
            result = self._session.execute(
                self._delete().where(DirectoryGroupMember.user_id.in_(batch))
            )
            self.changed = self.changed or _rowcount(result) > 0

    def remove_all(self) -> None:
        result = self._session.execute(self._delete())
        self.changed = self.changed or _rowcount(result) > 0
        self.touched = None

    def _touch(self, user_ids: Sequence[str]) -> None:
        if self.touched is not None:
            self.touched.update(user_ids)

    def replace(self, members: Sequence[MemberRef]) -> None:
        wanted = {member.user_id for member in members}
        self._check_users(wanted)
        current = set(
            self._session.scalars(
                memberships_of(self._organization_id)
                .where(DirectoryGroupMember.group_id == self._group_id)
                .with_only_columns(DirectoryGroupMember.user_id)
            )
        )
        self.remove(sorted(current - wanted))
        self.add(members)

    def _present(self, user_ids: set[str]) -> dict[str, str]:
        """The displays, as a GET shows them, of those of the given users already in the group.

        A client that sends back the display it read changes nothing.
        """
        present: dict[str, str] = {}
        for batch in chunked(sorted(user_ids)):
            query = (
                memberships_of(self._organization_id)
                .join(DirectoryUser, DirectoryUser.id == DirectoryGroupMember.user_id)
                .where(
                    DirectoryGroupMember.group_id == self._group_id,
                    DirectoryGroupMember.user_id.in_(batch),
                )
                .with_only_columns(
                    DirectoryGroupMember.user_id,
                    DirectoryGroupMember.display,
                    DirectoryUser.display_name,
                    DirectoryUser.user_name,
                )
            )
            for user_id, sent, display_name, user_name in self._session.execute(query):
                present[user_id] = sent or display_name or user_name
        return present

    def _check_users(self, user_ids: set[str]) -> None:
        unknown = user_ids - live_user_ids(self._session, self._organization_id, user_ids)
        if unknown:
            listed = ", ".join(sorted(unknown)[:5]) + (", ..." if len(unknown) > 5 else "")
            raise InvalidValue(f"members must be users of this organization; unknown: {listed}")

    def _delete(self) -> Any:
        return (
            delete(DirectoryGroupMember)
            .where(
                DirectoryGroupMember.organization_id == self._organization_id,
                DirectoryGroupMember.group_id == self._group_id,
            )
            .execution_options(synchronize_session=False)
        )


def _member_views(
    session: Session, organization_id: int, group_ids: list[str]
) -> dict[str, list[GroupMemberView]]:
    found: dict[str, list[GroupMemberView]] = {group_id: [] for group_id in group_ids}
    for batch in chunked(group_ids):
        query = (
            memberships_of(organization_id)
            .with_only_columns(
                DirectoryGroupMember.group_id,
                DirectoryUser.id,
                DirectoryGroupMember.display,
                DirectoryUser.display_name,
                DirectoryUser.user_name,
            )
            .join(DirectoryUser, DirectoryUser.id == DirectoryGroupMember.user_id)
            .where(
                DirectoryGroupMember.group_id.in_(batch),
                DirectoryUser.organization_id == organization_id,
                DirectoryUser.deleted_at.is_(None),
            )
            .order_by(DirectoryGroupMember.group_id, DirectoryUser.user_name)
        )
        for group_id, user_id, sent, display_name, user_name in session.execute(query):
            found[group_id].append(GroupMemberView(user_id, sent or display_name or user_name))
    return found


def _name_taken(display_name: str) -> Conflict:
    return Conflict(f"a Group with displayName {display_name!r} already exists")


def _rowcount(result: Result[Any]) -> int:
    """The rows a DELETE matched: what its cursor result counts."""
    return cast(CursorResult[Any], result).rowcount
