"""Roster application: bring an organization's members up to what its directory says.

Level-triggered: `reconcile_organization` never applies "an event", it claims whatever
directory rows are dirty and makes the roster agree with them. Running it twice, late, or
concurrently is harmless, which is what lets the queue in front of it be at-least-once.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Protocol, TypedDict

from sqlalchemy import ColumnElement, any_, delete, func, or_, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from models.core.base import utcnow
from models.core.config import DEFAULT_RECONCILE_BATCH_SIZE
from models.core.db import Database
from models.core.sql import any_of, insert_rows, one_of
from models.directory.tables import DirectoryGroup, DirectoryUser, dirty
from models.directory.users import RosterFields
from models.events.log import EventLog, lock_organization
from models.organizations.tables import Organization
from models.roster.member_events import member_event_data
from models.roster.tables import DEFAULT_ROLE, Account, Member, MemberSource, MemberStatus, Role
from models.roster.teams import MemberTeams, TeamRoster

log = logging.getLogger(__name__)


class Seats:
    """An organization's active seats, counted once per transaction and kept up to date."""

    def __init__(self, session: Session, organization: Organization) -> None:
        self.limit = organization.seat_limit
        self.taken = 0
        if self.limit is not None:
            self.taken = (
                session.scalar(
                    select(func.count()).where(
                        Member.organization_id == organization.id,
                        Member.status == MemberStatus.ACTIVE,
                    )
                )
                or 0
            )

    @property
    def reason(self) -> str:
        return f"the seat limit of {self.limit} is reached"

    @property
    def free(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.taken, 0)

    def admit(self, current_status: str | None) -> bool:
        """Take a seat for a member becoming active; False when none is free."""
        if self.limit is None or current_status == MemberStatus.ACTIVE:
            return True
        if self.taken >= self.limit:
            return False
        self.taken += 1
        return True

    def release(self, previous_status: str) -> None:
        if self.limit is not None and previous_status == MemberStatus.ACTIVE:
            self.taken -= 1


@dataclass
class ReconcileResult:
    rows_applied: int = 0
    events_appended: int = 0
    batches: int = 0


class ClaimedUser(Protocol):
    """What applying a directory user reads of it: a row of `_CLAIMED_USER_COLUMNS`."""

    id: str
    user_name: str
    external_id: str | None
    active: bool
    document: dict[str, Any]
    deleted_at: datetime | None
    updated_at: datetime


# Rows, not ORM objects: a batch marks its directory users applied and reads them back in
# one UPDATE, and hundreds of mapped objects a batch cost more than the work they feed.
_CLAIMED_USER_COLUMNS = (
    DirectoryUser.id,
    DirectoryUser.user_name,
    DirectoryUser.external_id,
    DirectoryUser.active,
    DirectoryUser.document,
    DirectoryUser.deleted_at,
    DirectoryUser.updated_at,
)


@dataclass(frozen=True)
class DesiredMember:
    """What one directory row asks of the roster."""

    email: str
    status: str
    role: str
    display_name: str | None
    # The team the `team` attribute names; the member joins it, and it is made on demand.
    team: str | None

    @classmethod
    def of(cls, row: ClaimedUser) -> DesiredMember:
        fields = RosterFields.of(row.document)
        team = fields.team
        return cls(
            email=fields.email,
            status=MemberStatus.ACTIVE if fields.active else MemberStatus.DEACTIVATED,
            role=Role.named(fields.role) or DEFAULT_ROLE,
            display_name=fields.display_name,
            team=team.strip() if isinstance(team, str) and team.strip() else None,
        )


# A batch that meets a lock timeout or a dropped connection runs again, from the start: its
# transaction rolled back whole, and the rows it would claim are still dirty.
_retry_when_locked = retry(
    retry=retry_if_exception_type(OperationalError),
    stop=stop_after_attempt(5),
    wait=wait_exponential(multiplier=0.1, max=2),
    reraise=True,
)

# Groups per transaction: one group's diff may touch many members, so batches stay small.
GROUP_BATCH_SIZE = 20


def reconcile_organization(
    database: Database, organization_id: int, batch_size: int = DEFAULT_RECONCILE_BATCH_SIZE
) -> ReconcileResult:
    """Apply every dirty directory row of one organization, one transaction per batch.

    Users go first, so that a group's diff finds the members its users just became.

    A batch that comes back short found every row then dirty, so the job stops there rather
    than chase the rows written since, a few at a time: each of those writes has found the
    job's pending key cleared (workers/debounce.py) and scheduled the next job, which will
    take them together in one batch.
    """
    result = ReconcileResult()
    for apply_batch, size in (
        (_apply_next_batch, batch_size),
        (_apply_next_group_batch, min(batch_size, GROUP_BATCH_SIZE)),
    ):
        while True:
            applied, appended = apply_batch(database, organization_id, size)
            # An empty batch of users may still have given waiting members a freed seat.
            result.events_appended += appended
            if applied:
                result.rows_applied += applied
                result.batches += 1
            if applied < size:
                break
    return result


@_retry_when_locked
def _apply_next_batch(database: Database, organization_id: int, batch_size: int) -> tuple[int, int]:
    with _collections_paused(), database.writing() as session:
        organization = lock_organization(session, organization_id)
        rows = _claim_users(session, organization_id, batch_size, database.is_postgresql)
        events = EventLog(session, organization)
        seats = Seats(session, organization)
        if rows:
            _RosterBatch(session, organization_id, rows, events, seats).apply()
            _delete_tombstones(session, DirectoryUser, [row for row in rows if row.deleted_at])
        _grant_free_seats(session, organization_id, seats, events)
        if not rows:
            return 0, len(events.appended)
        organization.last_reconciled_at = utcnow()
        return len(rows), len(events.appended)


def _claim_users(
    session: Session, organization_id: int, batch_size: int, postgresql: bool
) -> list[ClaimedUser]:
    """The organization's oldest dirty users, marked applied by the transaction applying them.

    Marking them first, in the statement that reads them, saves finding each row again
    afterwards; it changes nothing a crash could see, because the mark commits with the
    roster changes or not at all. On PostgreSQL the rows are chosen with FOR UPDATE SKIP
    LOCKED, so no write can move their `generation` before the commit, and a concurrent
    batch takes other rows instead of waiting; SQLite admits one writer at a time.
    """
    unapplied = (
        select(DirectoryUser.id)
        .where(
            DirectoryUser.organization_id == organization_id,
            dirty(DirectoryUser),
        )
        .order_by(DirectoryUser.updated_at, DirectoryUser.id)
        .limit(batch_size)
    )
    chosen: ColumnElement[bool] = DirectoryUser.id.in_(unapplied)
    if postgresql:
        # `= ANY(ARRAY(...))`: the ids are chosen first and each row is then found by its
        # key, where `IN (...)` may be planned as a hash join that reads the whole table.
        unapplied = unapplied.with_for_update(skip_locked=True).correlate(None)
        chosen = DirectoryUser.id == any_(func.array(unapplied.scalar_subquery()))
    claim = (
        update(DirectoryUser)
        .where(chosen)
        .values(applied_generation=DirectoryUser.generation)
        .returning(*_CLAIMED_USER_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    rows: list[ClaimedUser] = list(session.execute(claim))
    # RETURNING comes in no set order; events follow the order the directory changed in.
    rows.sort(key=lambda row: (row.updated_at, row.id))
    return rows


@contextmanager
def _collections_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a batch builds its rows.

    A batch makes tens of thousands of short-lived containers (rows, documents, events);
    each few thousand of them triggered a collection, and every few batches one that walked
    every object of the process, a sixth of a batch's Python time. What the batch leaves is
    freed by reference counting when it ends; cycles wait for the next collection. Threads
    may overlap: each enables collection again only if it found it enabled.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_retry_when_locked
def _apply_next_group_batch(
    database: Database, organization_id: int, batch_size: int
) -> tuple[int, int]:
    with database.writing() as session:
        organization = lock_organization(session, organization_id)
        claim = (
            select(DirectoryGroup)
            .where(
                DirectoryGroup.organization_id == organization_id,
                dirty(DirectoryGroup),
            )
            .order_by(DirectoryGroup.updated_at, DirectoryGroup.id)
            .limit(batch_size)
        )
        if database.is_postgresql:
            claim = claim.with_for_update(skip_locked=True)
        rows = list(session.scalars(claim))
        if not rows:
            return 0, 0
        events = EventLog(session, organization)
        teams = TeamRoster(session, organization_id, events)
        # Deleted groups first, so that a new group may take over a name a deleted one held.
        for row in sorted(rows, key=lambda group: group.deleted_at is None):
            teams.apply_group(row)
        _mark_applied(session, rows)
        return len(rows), len(events.appended)


def _mark_applied(session: Session, rows: list[DirectoryGroup]) -> None:
    """Record which groups were applied; applied tombstones have no reason left to exist."""
    live = [row.id for row in rows if row.deleted_at is None]
    if live:
        # The claimed rows are locked until commit (FOR UPDATE on PostgreSQL; SQLite admits
        # one writer), so no write can move `generation` between our read and this update.
        session.execute(
            update(DirectoryGroup)
            .where(one_of(session, DirectoryGroup.id, live))
            .values(applied_generation=DirectoryGroup.generation)
            .execution_options(synchronize_session=False)
        )
    _delete_tombstones(session, DirectoryGroup, [row for row in rows if row.deleted_at])


def _delete_tombstones(
    session: Session,
    table: type[DirectoryUser] | type[DirectoryGroup],
    tombstones: list[ClaimedUser] | list[DirectoryGroup],
) -> None:
    """Delete applied tombstones: the removal they stood for is in the roster now."""
    if tombstones:
        session.execute(
            delete(table)
            .where(one_of(session, table.id, [row.id for row in tombstones]))
            .execution_options(synchronize_session=False)
        )


@dataclass
class NewMember:
    """A member a roster batch adds: written with the batch's others in one statement.

    It reads and changes like a Member (a later row of the same batch may update it); `id`
    is set once the batch's new members are inserted.
    """

    organization_id: int
    account_id: int
    role: str
    status: str
    status_reason: str | None
    source: str
    display_name: str | None
    directory_user_id: str | None
    created_at: datetime
    updated_at: datetime
    id: int | None = None


_NEW_MEMBER_COLUMNS = tuple(field.name for field in fields(NewMember) if field.name != "id")


class _RosterBatch:
    """Applies a batch of directory rows with a fixed number of queries, whatever its size."""

    def __init__(
        self,
        session: Session,
        organization_id: int,
        rows: list[ClaimedUser],
        events: EventLog,
        seats: Seats,
    ) -> None:
        self._session = session
        self._organization_id = organization_id
        self._rows = rows
        self._events = events
        self._seats = seats
        self._now = utcnow()
        self._teams: list[MemberTeams] = []
        self._added: list[NewMember] = []
        # Account emails by id, for the events of members who leave.
        self._emails: dict[int, str] = {}

    def apply(self) -> None:
        live_emails = {row.user_name.lower() for row in self._rows if row.deleted_at is None}
        accounts = ensure_accounts(self._session, live_emails)
        members = self._load_members(list(accounts.values()))
        self._emails = {account_id: email for email, account_id in accounts.items()}
        # A member found by its directory user may hold an address no live row names (a
        # deleted or renamed user); read those now rather than one query per removal.
        others = {member.account_id for member in members} - self._emails.keys()
        self._emails.update(_account_emails(self._session, others))
        by_account: dict[int, Member | NewMember] = {m.account_id: m for m in members}
        # A directory user whose address changed is named by the member it left (removed)
        # too; the live member is the one it decides, whatever order the rows came in.
        by_directory_user: dict[str, Member | NewMember] = {
            m.directory_user_id: m
            for m in sorted(members, key=lambda m: m.status != MemberStatus.REMOVED)
            if m.directory_user_id
        }
        for row in self._rows:
            linked = by_directory_user.get(row.id)
            if row.deleted_at is not None:
                if linked is not None:
                    self._remove(linked, row)
                continue
            desired = DesiredMember.of(row)
            account_id = accounts[desired.email]
            if linked is not None and linked.account_id != account_id:
                # The userName (the email) changed: the old address leaves, the new one joins.
                self._remove(linked, row)
            member = by_account.get(account_id)
            if member is None:
                member = self._add(account_id, row, desired)
                by_account[account_id] = member
            else:
                self._update(member, row, desired)
            by_directory_user[row.id] = member
            self._teams.append(MemberTeams(member, desired.team))
        with _key_checks_planned_once(self._session):
            # New members get their ids here, before their teams are written.
            self._insert_added()
            # The batch's events and member changes so far.
            self._session.flush()
        TeamRoster(self._session, self._organization_id, self._events).apply_members(self._teams)

    def _load_members(self, account_ids: list[int]) -> list[Member]:
        """The members these rows' accounts hold, and those their directory users decided.

        The lists go as arrays compared with `= ANY`: PostgreSQL then looks each side up in
        its index and merges the two, where `IN (SELECT unnest(...))` on either side of an
        OR made it read every member of the organization to test each against both.
        """
        row_ids = [row.id for row in self._rows]
        return list(
            self._session.scalars(
                select(Member).where(
                    Member.organization_id == self._organization_id,
                    or_(
                        any_of(self._session, Member.account_id, account_ids),
                        any_of(self._session, Member.directory_user_id, row_ids),
                    ),
                )
            )
        )

    def _add(self, account_id: int, row: ClaimedUser, desired: DesiredMember) -> NewMember:
        desired = self._seated(desired, current_status=None)
        member = NewMember(
            organization_id=self._organization_id,
            account_id=account_id,
            role=desired.role,
            status=desired.status,
            status_reason=self._reason(desired),
            source=MemberSource.SCIM,
            display_name=desired.display_name,
            directory_user_id=row.id,
            created_at=self._now,
            updated_at=self._now,
        )
        self._added.append(member)
        self._events.append("member.added", _event_data(desired, row))
        return member

    def _insert_added(self) -> None:
        """Write the batch's new members in one statement, and give each its id."""
        # dataclasses.asdict deep-copies every value; a batch needs only a shallow row each.
        rows = [
            {name: getattr(member, name) for name in _NEW_MEMBER_COLUMNS} for member in self._added
        ]
        inserted = insert_rows(
            self._session, Member.__table__, rows, returning=("id", "account_id")
        )
        ids = {account_id: member_id for member_id, account_id in inserted}
        for member in self._added:
            member.id = ids[member.account_id]

    def _update(self, member: Member | NewMember, row: ClaimedUser, desired: DesiredMember) -> None:
        previous_status = member.status
        desired = self._seated(desired, current_status=previous_status)
        if desired.status != MemberStatus.ACTIVE:
            self._seats.release(previous_status)
        member.status_reason = self._reason(desired)
        changes = {
            field: [getattr(member, field), getattr(desired, field)]
            for field in ("role", "display_name")
            if getattr(member, field) != getattr(desired, field)
        }
        member.directory_user_id = row.id
        # A member who arrived another way (JIT) is adopted: from now on the IdP decides.
        member.source = MemberSource.SCIM
        member.role = desired.role
        member.display_name = desired.display_name
        member.status = desired.status
        if previous_status != desired.status or changes:
            member.updated_at = self._now
        data = _event_data(desired, row)
        if previous_status == MemberStatus.REMOVED:
            self._events.append("member.added", data)
            return
        if previous_status != desired.status:
            self._events.append(_status_event(previous_status, desired.status), data)
        if changes:
            self._events.append("member.updated", {**data, "changes": changes})

    def _seated(self, desired: DesiredMember, current_status: str | None) -> DesiredMember:
        """The desired member, held as pending_seat if it would need a seat and none is free."""
        if desired.status == MemberStatus.ACTIVE and not self._seats.admit(current_status):
            return replace(desired, status=MemberStatus.PENDING_SEAT)
        return desired

    def _reason(self, desired: DesiredMember) -> str | None:
        return self._seats.reason if desired.status == MemberStatus.PENDING_SEAT else None

    def _remove(self, member: Member | NewMember, row: ClaimedUser) -> None:
        if member.status == MemberStatus.REMOVED:
            return
        self._seats.release(member.status)
        member.status_reason = None
        self._teams.append(MemberTeams(member, None))
        member.status = MemberStatus.REMOVED
        member.updated_at = self._now
        self._events.append(
            "member.removed",
            member_event_data(
                email=self._emails[member.account_id],
                status=MemberStatus.REMOVED,
                role=member.role,
                display_name=member.display_name,
                user_id=row.id,
                external_id=row.external_id,
            ),
        )


@contextmanager
def _key_checks_planned_once(session: Session) -> Iterator[None]:
    """Let PostgreSQL plan the foreign-key checks of the statements inside once, not per row.

    PostgreSQL checks each inserted row's foreign keys with a query it prepares once per
    connection, and reuses that query's plan unless told to plan every execution anew. Our
    connections are told so (`force_custom_plan`, models/core/db.py) for our own statements; the
    key checks of a thousand members then cost a thousand plans per key, about half of
    what inserting them cost. Only the batch's bulk writes run inside; if one fails, the
    rollback undoes the setting with the rest.
    """
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    # On the connection: a session query would first flush, before the setting applies.
    connection = session.connection()
    previous = connection.scalar(text("SELECT current_setting('plan_cache_mode')"))
    connection.execute(text("SET LOCAL plan_cache_mode = auto"))
    yield
    connection.execute(
        text("SELECT set_config('plan_cache_mode', :mode, true)"), {"mode": previous}
    )


def _status_event(previous: str, current: str) -> str:
    if current == MemberStatus.PENDING_SEAT:
        return "member.pending_seat"
    if current == MemberStatus.ACTIVE:
        granted = previous == MemberStatus.PENDING_SEAT
        return "member.seat_granted" if granted else "member.reactivated"
    return "member.deactivated"


def _grant_free_seats(
    session: Session, organization_id: int, seats: Seats, events: EventLog
) -> None:
    """Give free seats to waiting members, longest waiting first (all of them, if no limit)."""
    if seats.free == 0:
        return
    query = (
        select(Member, Account.email, DirectoryUser.external_id)
        .join(Account, Account.id == Member.account_id)
        .outerjoin(DirectoryUser, DirectoryUser.id == Member.directory_user_id)
        .where(
            Member.organization_id == organization_id,
            Member.status == MemberStatus.PENDING_SEAT,
        )
        .order_by(Member.updated_at, Member.id)
    )
    if seats.free is not None:
        query = query.limit(seats.free)
    waiting = session.execute(query).all()
    now = utcnow()
    for member, email, external_id in waiting:
        seats.admit(member.status)
        member.status = MemberStatus.ACTIVE
        member.status_reason = None
        member.updated_at = now
        events.append(
            "member.seat_granted",
            member_event_data(
                email=email,
                status=MemberStatus.ACTIVE,
                role=member.role,
                display_name=member.display_name,
                user_id=member.directory_user_id,
                external_id=external_id,
            ),
        )


def organizations_with_waiting_members(session: Session) -> list[int]:
    """Organizations where a member waits for a seat: the sweep checks whether one freed up."""
    return list(
        session.scalars(
            select(Member.organization_id)
            .distinct()
            .where(Member.status == MemberStatus.PENDING_SEAT)
        )
    )


def _event_data(desired: DesiredMember, row: ClaimedUser) -> dict[str, Any]:
    return member_event_data(
        email=desired.email,
        status=desired.status,
        role=desired.role,
        display_name=desired.display_name,
        user_id=row.id,
        external_id=row.external_id,
    )


def _account_emails(session: Session, account_ids: set[int]) -> dict[int, str]:
    if not account_ids:
        return {}
    query = select(Account.id, Account.email).where(one_of(session, Account.id, account_ids))
    return {account_id: email for account_id, email in session.execute(query)}


def ensure_accounts(session: Session, emails: set[str]) -> dict[str, int]:
    """Account ids by email, creating the missing ones; safe against a concurrent creator."""
    if not emails:
        return {}
    found = _account_ids(session, emails)
    missing = sorted(emails - found.keys())
    if missing:
        now = utcnow()
        rows = [{"email": email, "created_at": now} for email in missing]
        created = insert_rows(
            session, Account.__table__, rows, returning=("email", "id"), unless_exists=("email",)
        )
        found.update({email: account_id for email, account_id in created})
        # An account a concurrent creator just made was skipped by the insert: read it.
        raced = emails - found.keys()
        if raced:
            found.update(_account_ids(session, raced))
    return found


def _account_ids(session: Session, emails: set[str]) -> dict[str, int]:
    query = select(Account.email, Account.id).where(one_of(session, Account.email, sorted(emails)))
    return {email: account_id for email, account_id in session.execute(query)}


def full_reconcile(
    database: Database, organization_id: int, batch_size: int = DEFAULT_RECONCILE_BATCH_SIZE
) -> ReconcileResult:
    """Compare every directory row with the roster and repair drift, with an event per repair.

    A member changed or removed behind our back comes back as the directory says; a member
    SCIM provisioned whose directory user no longer exists is removed.
    """
    with database.writing() as session:
        organization = lock_organization(session, organization_id)
        # Making every row dirty hands the comparison to the ordinary, batched reconcile;
        # a dirty group diffs its team against its members again.
        for table in (DirectoryUser, DirectoryGroup):
            session.execute(
                update(table)
                .where(table.organization_id == organization_id)
                .values(generation=table.generation + 1)
                .execution_options(synchronize_session=False)
            )
        orphans = _orphaned_members(session, organization_id)
        events = EventLog(session, organization)
        for member, email in orphans:
            member.status = MemberStatus.REMOVED
            member.updated_at = utcnow()
            events.append(
                "member.removed",
                member_event_data(
                    email=email,
                    status=MemberStatus.REMOVED,
                    role=member.role,
                    display_name=member.display_name,
                    user_id=member.directory_user_id,
                    # The directory user is gone: that is why the member is removed.
                    external_id=None,
                    repair=True,
                ),
            )
    result = reconcile_organization(database, organization_id, batch_size)
    result.events_appended += len(orphans)
    return result


def _orphaned_members(session: Session, organization_id: int) -> list[tuple[Member, str]]:
    live_directory_user = select(DirectoryUser.id).where(
        DirectoryUser.organization_id == organization_id,
        DirectoryUser.id == Member.directory_user_id,
        DirectoryUser.deleted_at.is_(None),
    )
    query = (
        select(Member, Account.email)
        .join(Account, Account.id == Member.account_id)
        .where(
            Member.organization_id == organization_id,
            Member.source == MemberSource.SCIM,
            Member.status != MemberStatus.REMOVED,
            ~live_directory_user.exists(),
        )
    )
    return [(member, email) for member, email in session.execute(query)]


class MemberView(TypedDict):
    email: str
    status: str
    status_reason: str | None
    role: str
    display_name: str | None
    source: str


def roster_of(session: Session, organization_id: int) -> list[MemberView]:
    """Every member of an organization, removed ones included, ordered by email."""
    query = (
        select(
            Account.email,
            Member.status,
            Member.status_reason,
            Member.role,
            Member.display_name,
            Member.source,
        )
        .join(Account, Account.id == Member.account_id)
        .where(Member.organization_id == organization_id)
        .order_by(Account.email)
    )
    return [
        {
            "email": email,
            "status": status,
            "status_reason": reason,
            "role": role,
            "display_name": name,
            "source": source,
        }
        for email, status, reason, role, name, source in session.execute(query)
    ]
