"""The directory: what the IdP said, written synchronously by the API.

Every statement here starts from `users_of(organization_id)`, so no caller can forget the
tenant: a filter from a client is only ever ANDed onto a query already scoped to one
organization.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.core.base import new_id, utcnow
from models.core.db import Database
from models.core.errors import Conflict, InvalidValue, NotFound, PreconditionFailed
from models.core.paging import FetchedPage, PageSpec, fetch_page
from models.core.sql import flush_unique
from models.directory.listing_version import live_users_version
from models.directory.memberships import GroupRef, detach_user_from_groups, groups_of_users
from models.directory.tables import DirectoryGroup, DirectoryGroupMember, DirectoryUser
from models.organizations.rules import outside_verified_domains, verified_domains

SCIMGATE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:scimgate:2.0:User"

# Called with an organization id after a commit that left directory rows dirty.
ChangeListener = Callable[[int], None]


@dataclass(frozen=True)
class UserWrite:
    """A validated User document and the columns derived from it."""

    document: dict[str, Any]
    user_name: str
    external_id: str | None
    display_name: str | None
    active: bool
    primary_email: str | None


class StoredUser(Protocol):
    """What rendering a User needs: a DirectoryUser, a row of its listed columns, a view."""

    @property
    def id(self) -> str: ...

    @property
    def document(self) -> dict[str, Any]: ...

    @property
    def created_at(self) -> datetime: ...

    @property
    def updated_at(self) -> datetime: ...

    @property
    def version(self) -> int: ...


@dataclass(frozen=True)
class UserView:
    """A user as the API answers with it: its stored columns and the groups it is in."""

    id: str
    document: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int
    groups: tuple[GroupRef, ...] = ()

    @classmethod
    def of(cls, row: DirectoryUser, groups: tuple[GroupRef, ...] = ()) -> UserView:
        return cls(row.id, row.document, row.created_at, row.updated_at, row.version, groups)


# What rendering a User needs (StoredUser): every read that answers with users selects these.
STORED_USER_COLUMNS = (
    DirectoryUser.id,
    DirectoryUser.document,
    DirectoryUser.created_at,
    DirectoryUser.updated_at,
    DirectoryUser.version,
)


def users_of(organization_id: int | BindParameter[int]) -> Select[DirectoryUser]:
    """Every live directory user of one organization: the root of every user query."""
    return select(DirectoryUser).where(
        DirectoryUser.organization_id == organization_id, DirectoryUser.deleted_at.is_(None)
    )


def _user_view_statement() -> Select[Any]:
    """One user by id with one row per live group it is in (or one row of NULLs for none).

    Built once with bound parameters: it is the most frequent read an IdP makes, and
    building a statement costs more than running it.
    """
    organization_id: BindParameter[int] = bindparam("organization_id")
    return (
        users_of(organization_id)
        .with_only_columns(
            *STORED_USER_COLUMNS, DirectoryGroup.id.label("group_id"), DirectoryGroup.display_name
        )
        .where(DirectoryUser.id == bindparam("user_id"))
        .outerjoin(
            DirectoryGroupMember,
            and_(
                DirectoryGroupMember.organization_id == organization_id,
                DirectoryGroupMember.user_id == DirectoryUser.id,
            ),
        )
        .outerjoin(
            DirectoryGroup,
            and_(
                DirectoryGroup.id == DirectoryGroupMember.group_id,
                DirectoryGroup.deleted_at.is_(None),
            ),
        )
        .order_by(DirectoryGroup.display_name, DirectoryGroup.id)
    )


_USER_VIEW = _user_view_statement()
# The write of every initial push: a Core INSERT built once, its values bound per call. The
# ORM's unit of work, or a statement built with `.values()` each time, cost more than it.
_INSERT_USER = insert(cast(Table, DirectoryUser.__table__))


@dataclass(frozen=True)
class RosterFields:
    """What the roster reads of a User document, as the IdP sent it: the one place that says.

    A write that changes none of these leaves the row clean (no new generation, no job), and
    the roster builds what it applies from these alone (`DesiredMember.of`), so a field the
    roster starts to read is one that makes a row dirty too.
    """

    email: str
    active: bool
    display_name: str | None
    # The roster decides what an unknown role or a blank team means.
    role: Any
    team: Any

    @classmethod
    def of(cls, document: dict[str, Any]) -> RosterFields:
        extension = document.get(SCIMGATE_USER_SCHEMA) or {}
        return cls(
            email=str(document.get("userName", "")).lower(),
            active=bool(document.get("active", True)),
            display_name=member_display_name(document),
            role=extension.get("role"),
            team=extension.get("team"),
        )


def member_display_name(document: dict[str, Any]) -> str | None:
    if document.get("displayName"):
        return str(document["displayName"])
    name = document.get("name") or {}
    if name.get("formatted"):
        return str(name["formatted"])
    parts = [name.get("givenName"), name.get("familyName")]
    return " ".join(p for p in parts if p) or None


def etag(version: int) -> str:
    return f'W/"{version}"'


def check_if_match(resource: str, version: int, if_match: str | None) -> None:
    """Refuse a write whose If-Match names no current version of the resource (412)."""
    if if_match is None or if_match.strip() == "*":
        return
    accepted = {tag.strip() for tag in if_match.split(",")}
    current = etag(version)
    if current not in accepted and current.removeprefix("W/") not in accepted:
        raise PreconditionFailed(f"{resource} is at version {current}, not {if_match}")


class DirectoryService:
    """Directory writes and reads for the API; one transaction per call."""

    def __init__(self, database: Database, on_change: ChangeListener | None = None) -> None:
        self._database = database
        self._on_change = on_change or (lambda _organization_id: None)

    def get_user(self, organization_id: int, user_id: str) -> UserView:
        with self._database.read_connection() as connection:
            return self._view(connection, organization_id, user_id)

    def list_users(
        self, organization_id: int, condition: ColumnElement[bool] | None, page: PageSpec
    ) -> FetchedPage:
        """One page of the organization's users as StoredUser rows.

        A client's filter is ANDed onto the organization's scope. Rows, not ORM objects: a
        page is read, never changed, and building a hundred objects costs more than the query.
        """
        query = users_of(organization_id).with_only_columns(*STORED_USER_COLUMNS)
        if condition is not None:
            query = query.where(condition)
        # Unfiltered and in creation order, a page moves only when users come or go, which
        # the version tells: the next page of a walk then need not count them again.
        version = None
        if condition is None and page.fixed_order:
            version = live_users_version(organization_id)
        with self._database.reading() as session:
            return fetch_page(session, query, page, version)

    def create_user(
        self,
        organization_id: int,
        write: UserWrite,
        verified_domains: Collection[str] | None = None,
    ) -> UserView:
        """Store a new user; `verified_domains`, when the caller knows them, saves a query.

        A userName already taken, in any case, is refused by the unique index.
        """
        with self._database.writing() as session:
            self._check_domains(session, organization_id, write, verified_domains)
            now = utcnow()
            user = UserView(new_id(), write.document, now, now, version=1)
            try:
                session.execute(
                    _INSERT_USER,
                    {
                        "id": user.id,
                        "organization_id": organization_id,
                        "user_name": write.user_name,
                        "external_id": write.external_id,
                        "display_name": write.display_name,
                        "active": write.active,
                        "document": write.document,
                        "version": 1,
                        "generation": 1,
                        "applied_generation": 0,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
            except IntegrityError:
                raise _name_taken(write.user_name) from None
        self._on_change(organization_id)
        # A user this moment old is in no group yet.
        return user

    def replace_user(
        self,
        organization_id: int,
        user_id: str,
        write: UserWrite | Callable[[StoredUser], UserWrite],
        if_match: str | None = None,
        verified_domains: Collection[str] | None = None,
    ) -> UserView:
        """Store a new document; a document equal to the stored one changes nothing at all.

        `write` may be a function of the current row, so that a PATCH is computed from the
        version it replaces inside the same transaction.

        The usual full-sync PUT changes nothing, so the row is first read without a lock or a
        write transaction: if the result equals what is stored, the call ends there, as a
        replacement that took effect at the moment of that read. Only a real change takes
        the row lock, and is computed again from the locked row.
        """
        with self._database.read_connection() as connection:
            snapshot = self._view(connection, organization_id, user_id)
        self._check_version(snapshot, if_match)
        if (write(snapshot) if callable(write) else write).document == snapshot.document:
            return snapshot
        roster_changed = False
        with self._database.writing() as session:
            row = self._load(session, organization_id, user_id, for_update=True)
            self._check_version(row, if_match)
            if callable(write):
                write = write(row)
            if write.document == row.document:
                return self._view(session, organization_id, user_id)
            self._check_domains(session, organization_id, write, verified_domains)
            roster_changed = RosterFields.of(write.document) != RosterFields.of(row.document)
            row.user_name = write.user_name
            row.external_id = write.external_id
            row.display_name = write.display_name
            row.active = write.active
            row.document = write.document
            row.version += 1
            row.updated_at = utcnow()
            if roster_changed:
                row.generation += 1
            flush_unique(session, _name_taken(write.user_name))
            groups = groups_of_users(session, organization_id, [row.id]).get(row.id, [])
        if roster_changed:
            self._on_change(organization_id)
        return UserView.of(row, tuple(groups))

    def delete_user(self, organization_id: int, user_id: str, if_match: str | None = None) -> None:
        """Hide the user at once; the row stays as a tombstone until the roster removes it."""
        with self._database.writing() as session:
            row = self._load(session, organization_id, user_id, for_update=True)
            self._check_version(row, if_match)
            row.deleted_at = utcnow()
            row.updated_at = row.deleted_at
            row.version += 1
            row.generation += 1
            # Its memberships go now, so no group shows a deleted user and its teams follow.
            detach_user_from_groups(session, organization_id, row.id)
        self._on_change(organization_id)

    def _view(self, session: Session | Connection, organization_id: int, user_id: str) -> UserView:
        """The user and its live groups in one statement: a read costs one round trip."""
        rows = session.execute(
            _USER_VIEW, {"organization_id": organization_id, "user_id": user_id}
        ).all()
        if not rows:
            raise NotFound(f"User {user_id} not found")
        first = rows[0]
        groups = tuple(
            GroupRef(row.group_id, row.display_name) for row in rows if row.group_id is not None
        )
        return UserView(
            first.id, first.document, first.created_at, first.updated_at, first.version, groups
        )

    def _load(
        self, session: Session, organization_id: int, user_id: str, for_update: bool = False
    ) -> DirectoryUser:
        query = users_of(organization_id).where(DirectoryUser.id == user_id)
        if for_update:
            query = query.with_for_update()
        row = session.scalar(query)
        if row is None:
            raise NotFound(f"User {user_id} not found")
        return row

    @staticmethod
    def _check_version(row: StoredUser, if_match: str | None) -> None:
        check_if_match(f"User {row.id}", row.version, if_match)

    @staticmethod
    def _check_domains(
        session: Session,
        organization_id: int,
        write: UserWrite,
        allowed: Collection[str] | None,
    ) -> None:
        if allowed is None:
            allowed = verified_domains(session, organization_id)
        addresses = [write.user_name] + ([write.primary_email] if write.primary_email else [])
        for address in addresses:
            problem = outside_verified_domains(address, allowed)
            if problem is not None:
                raise InvalidValue(problem)


def _name_taken(user_name: str) -> Conflict:
    # The unique index on lower(userName), live users only, is the one uniqueness check: it
    # also settles two concurrent writes of the same name.
    return Conflict(f"a User with userName {user_name!r} already exists")
