"""Teams in the roster: applied from directory groups and from each member's `team` attribute.

A member is in a team for one or both of two reasons, kept as flags on its team_members row:
its directory user is in the team's group (`via_group`), or its `team` attribute names the
team (`via_attribute`). The row exists while either flag holds. Group diffs run as set
operations in SQL, so Python only ever sees the members that actually change, and they
compare only the users the group's changes noted (`directory_group_member_changes`) when
those account for every generation since the group was last applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypedDict, cast

from sqlalchemy import (
    Select,
    and_,
    delete,
    except_,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from models.core.base import utcnow
from models.core.sql import any_of, one_of
from models.directory.memberships import chunked
from models.directory.tables import DirectoryGroup, DirectoryGroupMember, DirectoryGroupMemberChange
from models.events.log import EventLog
from models.roster.tables import (
    Account,
    Member,
    MemberSource,
    MemberStatus,
    Team,
    TeamMember,
    TeamStatus,
)

# Past this many noted users, a group's diff compares the whole group in one pass instead.
MAX_TOUCHED_USERS = 2_000


def teams_of(organization_id: int) -> Select[Team]:
    """Every active team of one organization: the root of every team query."""
    return select(Team).where(
        Team.organization_id == organization_id, Team.status == TeamStatus.ACTIVE
    )


class TeamedMember(Protocol):
    """What team changes read of a member: a Member, or one its roster batch is adding."""

    @property
    def id(self) -> int | None: ...

    @property
    def status(self) -> str: ...


@dataclass(frozen=True)
class MemberTeams:
    """What a member's directory user asks: the team its `team` attribute names, if any."""

    member: TeamedMember
    attribute_team: str | None


class TeamRoster:
    """Team changes for one organization inside the caller's reconcile transaction."""

    def __init__(self, session: Session, organization_id: int, events: EventLog) -> None:
        self._session = session
        self._organization_id = organization_id
        self._events = events
        self._now = utcnow()

    # -- members: called after a batch of directory users was applied ----------------------

    def apply_members(self, entries: list[MemberTeams]) -> None:
        """Bring the teams of these members in line with their groups and `team` attributes."""
        if not entries:
            return
        self._session.flush()
        # Every member has its id by now: the flush above inserted the batch's new ones.
        by_id = {entry.member.id: entry for entry in entries if entry.member.id is not None}
        member_ids = sorted(by_id)
        current = self._current_rows(member_ids)
        wanted_group = self._group_pairs(member_ids)
        wanted_attribute = self._attribute_pairs(
            [entry for entry in entries if entry.member.status != MemberStatus.REMOVED]
        )
        pairs = set(current) | wanted_group | wanted_attribute
        changes = []
        for pair in sorted(pairs):
            flags = (pair in wanted_group, pair in wanted_attribute)
            before = current.get(pair)
            if before != flags:
                changes.append((pair, before, flags))
        if changes:
            names = self._team_names({team_id for (team_id, _), _, _ in changes})
            emails = _emails(self._session, member_ids)
            for (team_id, member_id), before, flags in changes:
                self._set_flags(
                    team_id, member_id, before, flags, names[team_id], emails.get(member_id)
                )

    def _current_rows(self, member_ids: list[int]) -> dict[tuple[int, int], tuple[bool, bool]]:
        rows: dict[tuple[int, int], tuple[bool, bool]] = {}
        for batch in chunked(member_ids):
            query = (
                select(
                    TeamMember.team_id,
                    TeamMember.member_id,
                    TeamMember.via_group,
                    TeamMember.via_attribute,
                )
                .join(Team, Team.id == TeamMember.team_id)
                .where(
                    Team.organization_id == self._organization_id,
                    one_of(self._session, TeamMember.member_id, batch),
                )
            )
            for team_id, member_id, via_group, via_attribute in self._session.execute(query):
                rows[(team_id, member_id)] = (bool(via_group), bool(via_attribute))
        return rows

    def _group_pairs(self, member_ids: list[int]) -> set[tuple[int, int]]:
        """(team, member) for every live member in a group whose team exists."""
        pairs: set[tuple[int, int]] = set()
        for batch in chunked(member_ids):
            query = (
                teams_of(self._organization_id)
                .with_only_columns(Team.id, Member.id)
                .join(DirectoryGroup, DirectoryGroup.id == Team.directory_group_id)
                .join(DirectoryGroupMember, DirectoryGroupMember.group_id == DirectoryGroup.id)
                .join(
                    Member,
                    and_(
                        Member.directory_user_id == DirectoryGroupMember.user_id,
                        Member.organization_id == self._organization_id,
                    ),
                )
                .where(
                    DirectoryGroup.deleted_at.is_(None),
                    DirectoryGroupMember.organization_id == self._organization_id,
                    Member.status != MemberStatus.REMOVED,
                    one_of(self._session, Member.id, batch),
                )
            )
            pairs.update(cast(Iterable[tuple[int, int]], self._session.execute(query)))
        return pairs

    def _attribute_pairs(self, entries: list[MemberTeams]) -> set[tuple[int, int]]:
        named = [
            (entry.member.id, entry.attribute_team)
            for entry in entries
            if entry.attribute_team and entry.member.id is not None
        ]
        if not named:
            return set()
        teams = self._teams_named([name for _, name in named])
        return {(teams[name.lower()], member_id) for member_id, name in named}

    def _teams_named(self, names: list[str]) -> dict[str, int]:
        """Team ids by lower-cased name, creating the teams nobody made yet.

        A new team takes its name as the first member in the batch spelled it.
        """
        lowered: dict[str, str] = {}
        for name in names:
            lowered.setdefault(name.lower(), name)
        rows = self._session.execute(
            teams_of(self._organization_id)
            .with_only_columns(Team.id, Team.name)
            .where(func.lower(Team.name).in_(sorted(lowered)))
        )
        found = {name.lower(): team_id for team_id, name in cast(Iterable[tuple[int, str]], rows)}
        for key in sorted(lowered.keys() - found.keys()):
            found[key] = self._create_team(lowered[key], group_id=None).id
        return found

    def _set_flags(
        self,
        team_id: int,
        member_id: int,
        before: tuple[bool, bool] | None,
        flags: tuple[bool, bool],
        team_name: str,
        email: str | None,
    ) -> None:
        via_group, via_attribute = flags
        where = (TeamMember.team_id == team_id, TeamMember.member_id == member_id)
        if before is None:
            self._session.execute(
                insert(TeamMember).values(
                    team_id=team_id,
                    member_id=member_id,
                    via_group=via_group,
                    via_attribute=via_attribute,
                    created_at=self._now,
                )
            )
            self._member_event("team.member_added", team_id, team_name, member_id, email)
        elif not any(flags):
            self._session.execute(delete(TeamMember).where(*where))
            self._member_event("team.member_removed", team_id, team_name, member_id, email)
        else:
            self._session.execute(
                update(TeamMember)
                .where(*where)
                .values(via_group=via_group, via_attribute=via_attribute)
            )

    # -- groups: called for each dirty directory group --------------------------------------

    def apply_group(self, group: DirectoryGroup) -> None:
        """Make the group's team exist, carry its name and hold exactly its live members.

        A team that already mirrored the group compares only the users its changes noted,
        when there are notes for every generation since it was last applied; a new team,
        or a generation without notes, compares every member.
        """
        team = self._session.scalar(
            teams_of(self._organization_id).where(Team.directory_group_id == group.id)
        )
        if group.deleted_at is not None:
            if team is not None:
                self._release(team)
            return
        touched = None
        if team is None:
            team = self._adopt_or_create(group)
        else:
            if team.name != group.display_name:
                self._rename(team, group)
            touched = self._touched_users(group)
        self._diff_group_members(team, group.id, touched)
        self._session.execute(
            delete(DirectoryGroupMemberChange).where(
                DirectoryGroupMemberChange.organization_id == self._organization_id,
                DirectoryGroupMemberChange.group_id == group.id,
                DirectoryGroupMemberChange.generation <= group.generation,
            )
        )

    def _touched_users(self, group: DirectoryGroup) -> list[str] | None:
        """The users the group's pending changes noted; None if the whole group must be compared.

        That is when a generation since the last apply has no notes (a rename, a removal of
        every member, a drift repair), or when the notes name so many users that one pass
        over the group costs less than looking them up.
        """
        noted = select(DirectoryGroupMemberChange.user_id).where(
            DirectoryGroupMemberChange.organization_id == self._organization_id,
            DirectoryGroupMemberChange.group_id == group.id,
            DirectoryGroupMemberChange.generation > group.applied_generation,
            DirectoryGroupMemberChange.generation <= group.generation,
        )
        generations = self._session.scalar(
            noted.with_only_columns(func.count(DirectoryGroupMemberChange.generation.distinct()))
        )
        if generations != group.generation - group.applied_generation:
            return None
        users = list(self._session.scalars(noted.distinct().limit(MAX_TOUCHED_USERS + 1)))
        return users if len(users) <= MAX_TOUCHED_USERS else None

    def _adopt_or_create(self, group: DirectoryGroup) -> Team:
        holder = self._holder_of(group.display_name, exclude_team_id=None)
        if holder is not None and holder.directory_group_id is None:
            # A team the `team` attribute made first: the group takes it over.
            holder.directory_group_id = group.id
            holder.updated_at = self._now
            if holder.name != group.display_name:
                self._rename(holder, group)
            return holder
        if holder is not None:
            self._give_way(holder)
        return self._create_team(group.display_name, group_id=group.id)

    def _rename(self, team: Team, group: DirectoryGroup) -> None:
        holder = self._holder_of(group.display_name, exclude_team_id=team.id)
        if holder is not None and holder.directory_group_id is None:
            self._merge(holder, into=team)
        elif holder is not None:
            self._give_way(holder)
        previous = team.name
        team.name = group.display_name
        team.updated_at = self._now
        self._session.flush()
        self._events.append(
            "team.renamed",
            {
                "team_id": team.id,
                "team": team.name,
                "previous_name": previous,
                "group_id": group.id,
            },
        )

    def _holder_of(self, name: str, exclude_team_id: int | None) -> Team | None:
        query = teams_of(self._organization_id).where(func.lower(Team.name) == name.lower())
        if exclude_team_id is not None:
            query = query.where(Team.id != exclude_team_id)
        return self._session.scalar(query)

    def _give_way(self, team: Team) -> None:
        """Step a team aside whose group was renamed away from this name (not yet applied).

        Its group is dirty, so a later step of this reconcile gives the team its new name.
        """
        team.name = f"{team.name}~{team.id}"
        self._session.flush()

    def _merge(self, source: Team, into: Team) -> None:
        """Fold a team made by the `team` attribute into the group's team of the same name."""
        self._session.flush()
        moved = list(
            self._session.execute(
                select(TeamMember.member_id, TeamMember.via_attribute).where(
                    TeamMember.team_id == source.id
                )
            )
        )
        present = {
            member_id: (bool(via_group), bool(via_attribute))
            for member_id, via_group, via_attribute in self._session.execute(
                select(TeamMember.member_id, TeamMember.via_group, TeamMember.via_attribute).where(
                    TeamMember.team_id == into.id
                )
            )
        }
        emails = _emails(self._session, [member_id for member_id, _ in moved])
        for member_id, via_attribute in moved:
            before = present.get(member_id)
            after = (
                before[0] if before else False,
                bool(via_attribute) or bool(before and before[1]),
            )
            if before != after:
                self._set_flags(into.id, member_id, before, after, into.name, emails.get(member_id))
        self._delete_team(source)

    def _release(self, team: Team) -> None:
        """The group is gone: its team goes too, unless a `team` attribute still names it."""
        self._session.flush()
        keeps = self._session.scalar(
            select(func.count()).where(
                TeamMember.team_id == team.id, TeamMember.via_attribute.is_(True)
            )
        )
        if not keeps:
            self._delete_team(team)
            return
        team.directory_group_id = None
        team.updated_at = self._now
        self._remove_group_flags(team, self._group_member_ids(team.id))

    def _delete_team(self, team: Team) -> None:
        count = self._session.scalar(select(func.count()).where(TeamMember.team_id == team.id))
        self._session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
        team.status = TeamStatus.DELETED
        team.updated_at = self._now
        self._session.flush()
        self._events.append(
            "team.deleted",
            {
                "team_id": team.id,
                "team": team.name,
                "group_id": team.directory_group_id,
                "members": count,
            },
        )

    def _create_team(self, name: str, group_id: str | None) -> Team:
        team = Team(
            organization_id=self._organization_id,
            name=name,
            source=MemberSource.SCIM,
            directory_group_id=group_id,
            status=TeamStatus.ACTIVE,
            created_at=self._now,
            updated_at=self._now,
        )
        self._session.add(team)
        self._session.flush()
        self._events.append(
            "team.created", {"team_id": team.id, "team": name, "group_id": group_id}
        )
        return team

    def _diff_group_members(self, team: Team, group_id: str, touched: list[str] | None) -> None:
        """Set the team's group flags from the group's members: of the `touched` users, or all."""
        self._session.flush()
        if touched is None:
            wanted = (
                select(Member.id)
                .join(
                    DirectoryGroupMember,
                    DirectoryGroupMember.user_id == Member.directory_user_id,
                )
                .where(
                    DirectoryGroupMember.organization_id == self._organization_id,
                    DirectoryGroupMember.group_id == group_id,
                    Member.organization_id == self._organization_id,
                    Member.status != MemberStatus.REMOVED,
                )
            )
            current = select(TeamMember.member_id).where(
                TeamMember.team_id == team.id, TeamMember.via_group.is_(True)
            )
            joining = list(self._session.scalars(except_(wanted, current)))
            leaving = list(self._session.scalars(except_(current, wanted)))
        else:
            joining, leaving = [], []
            for batch in chunked(touched):
                wanted_ids, current_ids = self._group_flags_of(team, group_id, batch)
                joining += sorted(wanted_ids - current_ids)
                leaving += sorted(current_ids - wanted_ids)
        if joining:
            self._add_group_flags(team, joining)
        if leaving:
            self._remove_group_flags(team, leaving)

    def _group_flags_of(
        self, team: Team, group_id: str, user_ids: list[str]
    ) -> tuple[set[int], set[int]]:
        """Of these users' members: those the group wants in the team, those the team has.

        Each table is reached by index through the given ids, as `= ANY(array)`: an index
        condition in any plan. A set (`IN (SELECT unnest(...))`) lets a plan prepared while
        the team was small read the whole team, once it has grown, to match the few ids.
        """
        in_group = and_(
            DirectoryGroupMember.organization_id == self._organization_id,
            DirectoryGroupMember.group_id == group_id,
            DirectoryGroupMember.user_id == Member.directory_user_id,
            any_of(self._session, DirectoryGroupMember.user_id, user_ids),
        )
        members = self._session.execute(
            select(Member.id, Member.status, DirectoryGroupMember.user_id)
            .outerjoin(DirectoryGroupMember, in_group)
            .where(
                Member.organization_id == self._organization_id,
                any_of(self._session, Member.directory_user_id, user_ids),
            )
        ).all()
        wanted = {
            member_id
            for member_id, status, grouped in members
            if grouped is not None and status != MemberStatus.REMOVED
        }
        member_ids = sorted({member_id for member_id, _, _ in members})
        if not member_ids:
            return wanted, set()
        current = set(
            self._session.scalars(
                select(TeamMember.member_id).where(
                    TeamMember.team_id == team.id,
                    TeamMember.via_group.is_(True),
                    any_of(self._session, TeamMember.member_id, member_ids),
                )
            )
        )
        return wanted, current

    def _group_member_ids(self, team_id: int) -> list[int]:
        return list(
            self._session.scalars(
                select(TeamMember.member_id).where(
                    TeamMember.team_id == team_id, TeamMember.via_group.is_(True)
                )
            )
        )

    def _add_group_flags(self, team: Team, member_ids: list[int]) -> None:
        existing = self._existing(team.id, member_ids)
        if existing:
            for batch in chunked(sorted(existing)):
                self._session.execute(
                    update(TeamMember)
                    .where(TeamMember.team_id == team.id, TeamMember.member_id.in_(batch))
                    .values(via_group=True)
                )
        new = sorted(set(member_ids) - existing)
        if not new:
            return
        self._session.execute(
            insert(TeamMember),
            [
                {
                    "team_id": team.id,
                    "member_id": member_id,
                    "via_group": True,
                    "via_attribute": False,
                    "created_at": self._now,
                }
                for member_id in new
            ],
        )
        emails = _emails(self._session, new)
        for member_id in new:
            self._member_event(
                "team.member_added", team.id, team.name, member_id, emails.get(member_id)
            )

    def _remove_group_flags(self, team: Team, member_ids: list[int]) -> None:
        keep = self._existing(team.id, member_ids, via_attribute=True)
        gone = sorted(set(member_ids) - keep)
        for batch in chunked(sorted(keep)):
            self._session.execute(
                update(TeamMember)
                .where(TeamMember.team_id == team.id, TeamMember.member_id.in_(batch))
                .values(via_group=False)
            )
        for batch in chunked(gone):
            self._session.execute(
                delete(TeamMember).where(
                    TeamMember.team_id == team.id, TeamMember.member_id.in_(batch)
                )
            )
        emails = _emails(self._session, gone)
        for member_id in gone:
            self._member_event(
                "team.member_removed", team.id, team.name, member_id, emails.get(member_id)
            )

    def _existing(
        self, team_id: int, member_ids: Iterable[int], via_attribute: bool = False
    ) -> set[int]:
        found: set[int] = set()
        for batch in chunked(sorted(member_ids)):
            query = select(TeamMember.member_id).where(
                TeamMember.team_id == team_id, TeamMember.member_id.in_(batch)
            )
            if via_attribute:
                query = query.where(TeamMember.via_attribute.is_(True))
            found.update(self._session.scalars(query))
        return found

    def _team_names(self, team_ids: set[int]) -> dict[int, str]:
        return {
            team_id: name
            for team_id, name in self._session.execute(
                select(Team.id, Team.name).where(Team.id.in_(sorted(team_ids)))
            )
        }

    def _member_event(
        self, event_type: str, team_id: int, team_name: str, member_id: int, email: str | None
    ) -> None:
        self._events.append(
            event_type,
            {"team_id": team_id, "team": team_name, "member_id": member_id, "email": email},
        )


def _emails(session: Session, member_ids: Iterable[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for batch in chunked(sorted(set(member_ids))):
        query = (
            select(Member.id, Account.email)
            .join(Account, Account.id == Member.account_id)
            .where(one_of(session, Member.id, batch))
        )
        found.update({member_id: email for member_id, email in session.execute(query)})
    return found


class TeamView(TypedDict):
    name: str
    group_id: str | None
    members: list[str]


def teams_roster(session: Session, organization_id: int) -> list[TeamView]:
    """Every active team of an organization with its members' emails, ordered by name."""
    teams = list(session.scalars(teams_of(organization_id).order_by(func.lower(Team.name))))
    found: list[TeamView] = []
    for team in teams:
        emails = session.scalars(
            select(Account.email)
            .join(Member, Member.account_id == Account.id)
            .join(TeamMember, TeamMember.member_id == Member.id)
            .where(TeamMember.team_id == team.id)
            .order_by(Account.email)
        )
        found.append(
            {
                "name": team.name,
                "group_id": team.directory_group_id,
                "members": list(emails),
            }
        )
    return found
