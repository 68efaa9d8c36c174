"""Groups become teams in the roster, applied by the worker, with an event for each change."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, func, select

from models.core.db import Database
from models.directory.tables import DirectoryGroup, DirectoryGroupMemberChange
from models.events.log import events_after
from models.roster.reconcile import full_reconcile, reconcile_organization
from models.roster.tables import Account, Member, TeamMember
from models.roster.teams import teams_roster
from tests.support.scim import (
    SCIMGATE_USER_SCHEMA,
    OrganizationFixture,
    ScimClient,
    members,
    okta_group,
    okta_user,
    patch_op,
)


def teams(database: Database, tenant: OrganizationFixture) -> dict[str, list[str]]:
    with database.reading() as session:
        return {team["name"]: team["members"] for team in teams_roster(session, tenant.id)}


def team_events(database: Database, tenant: OrganizationFixture) -> list[tuple[str, str, str]]:
    with database.reading() as session:
        return [
            (event.type, event.data.get("team"), event.data.get("email") or "")
            for event in events_after(session, tenant.id, limit=10_000)
            if event.type.startswith("team.")
        ]


def dirty_groups(database: Database) -> int:
    with database.reading() as session:
        return session.scalar(
            select(func.count()).where(
                DirectoryGroup.generation > DirectoryGroup.applied_generation
            )
        )


def user(scim: ScimClient, email: str, team: str | None = None) -> str:
    body = okta_user(email)
    if team is not None:
        body["schemas"].append(SCIMGATE_USER_SCHEMA)
        body[SCIMGATE_USER_SCHEMA] = {"team": team}
    response = scim.post("/Users", body)
    assert response.status_code == 201, response.text
    return response.json["id"]


def group(scim: ScimClient, name: str, *member_ids: str) -> str:
    response = scim.post("/Groups", okta_group(name, *member_ids))
    assert response.status_code == 201, response.text
    return response.json["id"]


class TestGroupsBecomeTeams:
    def test_a_pushed_group_becomes_a_team_with_its_members(
        self, scim: ScimClient, database: Database, tenant, drain: Callable[[], None]
    ):
        ada = user(scim, "ada@example.com")
        bob = user(scim, "bob@example.com")
        group(scim, "Engineering", ada, bob)
        drain()

        assert teams(database, tenant) == {"Engineering": ["ada@example.com", "bob@example.com"]}
        assert team_events(database, tenant) == [
            ("team.created", "Engineering", ""),
            ("team.member_added", "Engineering", "ada@example.com"),
            ("team.member_added", "Engineering", "bob@example.com"),
        ]
        assert dirty_groups(database) == 0

    def test_okta_membership_update_renames_adds_and_removes_in_one_go(
        self, scim: ScimClient, database: Database, tenant, drain
    ):
        ada, bob = user(scim, "ada@example.com"), user(scim, "bob@example.com")
        group_id = group(scim, "Eng", ada)
        drain()

        response = scim.patch(
            f"/Groups/{group_id}",
            patch_op(
                {"op": "replace", "value": {"id": group_id, "displayName": "Engineering"}},
                {"op": "remove", "path": f'members[value eq "{ada}"]'},
                {"op": "add", "path": "members", "value": members(bob)},
            ),
        )
        assert response.status_code == 204
        drain()

        assert teams(database, tenant) == {"Engineering": ["bob@example.com"]}
        assert team_events(database, tenant)[-3:] == [
            ("team.renamed", "Engineering", ""),
            ("team.member_added", "Engineering", "bob@example.com"),
            ("team.member_removed", "Engineering", "ada@example.com"),
        ]

    def test_deleting_the_group_deletes_the_team(
        self, scim: ScimClient, database: Database, tenant, drain
    ):
        ada = user(scim, "ada@example.com")
        group_id = group(scim, "Engineering", ada)
        drain()

        assert scim.delete(f"/Groups/{group_id}").status_code == 204
        drain()

        assert teams(database, tenant) == {}
        assert team_events(database, tenant)[-1] == ("team.deleted", "Engineering", "")
        with database.reading() as session:
            assert session.scalar(select(func.count()).select_from(DirectoryGroup)) == 0

    def test_a_deleted_user_leaves_its_teams(
        self, scim: ScimClient, database: Database, tenant, drain
    ):
        ada, bob = user(scim, "ada@example.com"), user(scim, "bob@example.com")
        group(scim, "Engineering", ada, bob)
        drain()

        scim.delete(f"/Users/{ada}")
        drain()

        assert teams(database, tenant) == {"Engineering": ["bob@example.com"]}
        assert team_events(database, tenant)[-1] == (
            "team.member_removed",
            "Engineering",
            "ada@example.com",
        )

    def test_a_member_created_after_its_group_was_applied_still_joins_the_team(
        self, scim: ScimClient, database: Database, tenant
    ):
        ada = user(scim, "ada@example.com")
        group_id = group(scim, "Engineering", ada)
        reconcile_organization(database, tenant.id)
        # The group changes and is applied while the new user's member does not exist yet...
        bob = user(scim, "bob@example.com")
        scim.patch(
            f"/Groups/{group_id}", patch_op({"op": "add", "path": "members", "value": members(bob)})
        )

        reconcile_organization(database, tenant.id)

        assert teams(database, tenant) == {"Engineering": ["ada@example.com", "bob@example.com"]}

    def test_a_name_freed_by_a_deleted_group_can_be_taken_by_a_new_one(
        self, scim: ScimClient, database: Database, tenant
    ):
        ada = user(scim, "ada@example.com")
        old = group(scim, "Engineering", ada)
        reconcile_organization(database, tenant.id)
        scim.delete(f"/Groups/{old}")
        group(scim, "Engineering")

        reconcile_organization(database, tenant.id)

        assert teams(database, tenant) == {"Engineering": []}

    def test_two_groups_swapping_names_end_up_with_the_right_teams(
        self, scim: ScimClient, database: Database, tenant
    ):
        ada, bob = user(scim, "ada@example.com"), user(scim, "bob@example.com")
        first, second = group(scim, "Red", ada), group(scim, "Blue", bob)
        reconcile_organization(database, tenant.id)
        rename = lambda group_id, name: scim.patch(  # noqa: E731
            f"/Groups/{group_id}", patch_op({"op": "replace", "path": "displayName", "value": name})
        )
        assert rename(first, "Swap").status_code == 204
        assert rename(second, "Red").status_code == 204
        assert rename(first, "Blue").status_code == 204

        reconcile_organization(database, tenant.id)

        assert teams(database, tenant) == {"Blue": ["ada@example.com"], "Red": ["bob@example.com"]}

    def test_an_unchanged_membership_update_applies_nothing(
        self, scim: ScimClient, database: Database, tenant
    ):
        ada = user(scim, "ada@example.com")
        group_id = group(scim, "Engineering", ada)
        reconcile_organization(database, tenant.id)
        version = scim.get(f"/Groups/{group_id}").json["meta"]["version"]

        scim.patch(
            f"/Groups/{group_id}",
            patch_op(
                {"op": "replace", "value": {"id": group_id, "displayName": "Engineering"}},
                {"op": "add", "path": "members", "value": members(ada)},
            ),
        )

        assert dirty_groups(database) == 0
        assert scim.get(f"/Groups/{group_id}").json["meta"]["version"] == version


def drop_team_rows_behind_our_back(database: Database, email: str) -> None:
    with database.writing() as session:
        member = select(Member.id).join(Account, Account.id == Member.account_id)
        session.execute(
            delete(TeamMember).where(TeamMember.member_id.in_(member.where(Account.email == email)))
        )


def pending_member_changes(database: Database) -> int:
    with database.reading() as session:
        return session.scalar(select(func.count()).select_from(DirectoryGroupMemberChange))


class TestMembershipChangesApplyWhatChanged:
    """A change to a group's members is applied to the users it names, not to the whole group.

    Drift planted in the team (a row deleted behind our back) shows which members an apply
    compared: a one-member change leaves it alone, the daily full reconcile repairs it.
    """

    def test_a_one_member_change_compares_that_member_only(
        self, scim: ScimClient, database: Database, tenant
    ):
        ada, bob, cat = (user(scim, f"{name}@example.com") for name in ("ada", "bob", "cat"))
        group_id = group(scim, "Engineering", ada, bob)
        reconcile_organization(database, tenant.id)
        drop_team_rows_behind_our_back(database, "bob@example.com")

        scim.patch(
            f"/Groups/{group_id}", patch_op({"op": "add", "path": "members", "value": members(cat)})
        )
        reconcile_organization(database, tenant.id)

        assert teams(database, tenant) == {"Engineering": ["ada@example.com", "cat@example.com"]}
        assert pending_member_changes(database) == 0
        full_reconcile(database, tenant.id)
        assert teams(database, tenant) == {
            "Engineering": ["ada@example.com", "bob@example.com", "cat@example.com"]
        }

    def test_a_drift_repair_restores_a_group_with_changes_pending(
        self, scim: ScimClient, database: Database, tenant
    ):
        ada, bob, cat = (user(scim, f"{name}@example.com") for name in ("ada", "bob", "cat"))
        group_id = group(scim, "Engineering", ada, bob)
        reconcile_organization(database, tenant.id)
        drop_team_rows_behind_our_back(database, "bob@example.com")
        scim.patch(
            f"/Groups/{group_id}",
            patch_op({"op": "remove", "path": f'members[value eq "{ada}"]'}),
        )
        scim.patch(
            f"/Groups/{group_id}", patch_op({"op": "add", "path": "members", "value": members(cat)})
        )

        full_reconcile(database, tenant.id)

        assert teams(database, tenant) == {"Engineering": ["bob@example.com", "cat@example.com"]}

    def test_a_rename_compares_the_whole_group(self, scim: ScimClient, database: Database, tenant):
        ada, bob = user(scim, "ada@example.com"), user(scim, "bob@example.com")
        group_id = group(scim, "Eng", ada, bob)
        reconcile_organization(database, tenant.id)
        drop_team_rows_behind_our_back(database, "bob@example.com")

        scim.patch(
            f"/Groups/{group_id}",
            patch_op({"op": "replace", "path": "displayName", "value": "Engineering"}),
        )
        reconcile_organization(database, tenant.id)

        assert teams(database, tenant) == {"Engineering": ["ada@example.com", "bob@example.com"]}

    def test_removing_every_member_then_adding_one_leaves_just_that_one(
        self, scim: ScimClient, database: Database, tenant, drain
    ):
        ada, bob, cat = (user(scim, f"{name}@example.com") for name in ("ada", "bob", "cat"))
        group_id = group(scim, "Engineering", ada, bob)
        drain()

        response = scim.patch(
            f"/Groups/{group_id}",
            patch_op(
                {"op": "remove", "path": "members"},
                {"op": "add", "path": "members", "value": members(cat)},
            ),
        )
        assert response.status_code == 204
        drain()

        assert teams(database, tenant) == {"Engineering": ["cat@example.com"]}
        assert team_events(database, tenant)[-3:] == [
            ("team.member_added", "Engineering", "cat@example.com"),
            ("team.member_removed", "Engineering", "ada@example.com"),
            ("team.member_removed", "Engineering", "bob@example.com"),
        ]
        assert pending_member_changes(database) == 0

    def test_changes_spread_over_several_requests_are_all_applied(
        self, scim: ScimClient, database: Database, tenant
    ):
        ada, bob, cat = (user(scim, f"{name}@example.com") for name in ("ada", "bob", "cat"))
        group_id = group(scim, "Engineering", ada)
        reconcile_organization(database, tenant.id)

        for operation in (
            {"op": "add", "path": "members", "value": members(bob)},
            {"op": "add", "path": "members", "value": members(cat)},
            {"op": "remove", "path": f'members[value eq "{ada}"]'},
            {"op": "remove", "path": f'members[value eq "{bob}"]'},
            {"op": "add", "path": "members", "value": members(ada)},
        ):
            assert scim.patch(f"/Groups/{group_id}", patch_op(operation)).status_code == 204
        reconcile_organization(database, tenant.id)

        assert teams(database, tenant) == {"Engineering": ["ada@example.com", "cat@example.com"]}
        assert pending_member_changes(database) == 0


class TestTeamAttribute:
    def test_the_team_attribute_makes_the_team_on_demand_and_joins_it(
        self, scim: ScimClient, database: Database, tenant, drain
    ):
        user(scim, "ada@example.com", team="Design")
        user(scim, "bob@example.com", team="design")
        drain()

        assert teams(database, tenant) == {"Design": ["ada@example.com", "bob@example.com"]}
        assert [kind for kind, _, _ in team_events(database, tenant)] == [
            "team.created",
            "team.member_added",
            "team.member_added",
        ]

    def test_changing_the_team_attribute_moves_the_member(
        self, scim: ScimClient, database: Database, tenant, drain
    ):
        ada = user(scim, "ada@example.com", team="Design")
        drain()

        response = scim.patch(
            f"/Users/{ada}",
            patch_op(
                {"op": "replace", "path": f"{SCIMGATE_USER_SCHEMA}:team", "value": "Research"}
            ),
        )
        assert response.status_code == 200, response.text
        drain()

        assert teams(database, tenant) == {"Design": [], "Research": ["ada@example.com"]}

    def test_a_member_in_a_team_for_both_reasons_stays_until_both_are_gone(
        self, scim: ScimClient, database: Database, tenant, drain
    ):
        ada = user(scim, "ada@example.com", team="Engineering")
        group_id = group(scim, "Engineering", ada)
        drain()
        assert teams(database, tenant) == {"Engineering": ["ada@example.com"]}

        scim.patch(f"/Groups/{group_id}", patch_op({"op": "remove", "path": "members"}))
        drain()
        assert teams(database, tenant) == {"Engineering": ["ada@example.com"]}

        scim.delete(f"/Groups/{group_id}")
        drain()
        # The attribute still names the team, so it stays, no longer tied to a group.
        assert teams(database, tenant) == {"Engineering": ["ada@example.com"]}

        scim.patch(
            f"/Users/{ada}", patch_op({"op": "remove", "path": f"{SCIMGATE_USER_SCHEMA}:team"})
        )
        drain()
        assert teams(database, tenant) == {"Engineering": []}
        assert [kind for kind, _, _ in team_events(database, tenant)] == [
            "team.created",
            "team.member_added",
            "team.member_removed",
        ]

    def test_a_group_takes_over_the_team_its_name_already_has(
        self, scim: ScimClient, database: Database, tenant, drain
    ):
        user(scim, "ada@example.com", team="Engineering")
        drain()
        bob = user(scim, "bob@example.com")
        group(scim, "engineering", bob)
        drain()

        assert teams(database, tenant) == {"engineering": ["ada@example.com", "bob@example.com"]}
