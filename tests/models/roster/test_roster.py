"""The worker brings the roster in line with the directory, with an event for each real change."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

from scim2_models import Context
from sqlalchemy import event, func, select

from api.scim.schemas import parse_user, user_write
from models.core.base import utcnow
from models.core.db import Database
from models.directory.tables import DirectoryUser
from models.directory.users import DirectoryService
from models.events.log import events_after, lock_organization
from models.roster.reconcile import reconcile_organization, roster_of
from tests.support.scim import OrganizationFixture, ScimClient, okta_user, patch_op
from tests.support.services import PostgresDatabase

SCIMGATE = "urn:ietf:params:scim:schemas:extension:scimgate:2.0:User"


def roster(database: Database, tenant: OrganizationFixture) -> dict[str, tuple[str, str]]:
    with database.reading() as session:
        return {m["email"]: (m["status"], m["role"]) for m in roster_of(session, tenant.id)}


def event_types(database: Database, tenant: OrganizationFixture) -> list[str]:
    with database.reading() as session:
        return [event.type for event in events_after(session, tenant.id)]


def dirty_rows(database: Database) -> int:
    with database.reading() as session:
        return session.scalar(
            select(func.count()).where(DirectoryUser.generation > DirectoryUser.applied_generation)
        )


def readdress(scim: ScimClient, user: dict, email: str) -> None:
    """The IdP moves `user` to a new address: userName and primary email both."""
    user["userName"] = email
    user["emails"][0]["value"] = email
    assert scim.put(f"/Users/{user['id']}", user).status_code == 200


def queued_jobs(broker) -> int:
    """Reconcile messages waiting in Redis, delayed ones included."""
    return broker.client.llen("scimgate:roster") + broker.client.llen("scimgate:roster.DQ")


def deactivate(scim: ScimClient, user_id: str, active: bool = False) -> None:
    response = scim.patch(
        f"/Users/{user_id}", patch_op({"op": "replace", "value": {"active": active}})
    )
    assert response.status_code == 200


class TestLifecycle:
    def test_create_deactivate_reactivate_delete_follow_into_the_roster(
        self, scim: ScimClient, database: Database, tenant, drain: Callable[[], None]
    ):
        user = scim.post("/Users", okta_user("ada@example.com")).json
        drain()
        assert roster(database, tenant) == {"ada@example.com": ("active", "member")}

        deactivate(scim, user["id"])
        drain()
        assert roster(database, tenant) == {"ada@example.com": ("deactivated", "member")}

        deactivate(scim, user["id"], active=True)
        drain()
        assert roster(database, tenant) == {"ada@example.com": ("active", "member")}

        scim.delete(f"/Users/{user['id']}")
        drain()
        assert roster(database, tenant) == {"ada@example.com": ("removed", "member")}
        assert event_types(database, tenant) == [
            "member.added",
            "member.deactivated",
            "member.reactivated",
            "member.removed",
        ]
        assert dirty_rows(database) == 0

    def test_a_user_created_again_after_removal_is_the_same_member_back(
        self, scim: ScimClient, database: Database, tenant, drain
    ):
        first = scim.post("/Users", okta_user("ada@example.com")).json
        drain()
        scim.delete(f"/Users/{first['id']}")
        scim.post("/Users", okta_user("ada@example.com"))
        drain()

        assert roster(database, tenant) == {"ada@example.com": ("active", "member")}
        assert event_types(database, tenant)[-1] == "member.added"

    def test_role_comes_from_the_scimgate_extension(
        self, scim: ScimClient, database: Database, tenant, drain
    ):
        body = okta_user("ada@example.com")
        body["schemas"].append(SCIMGATE)
        body[SCIMGATE] = {"role": "owner"}
        scim.post("/Users", body)
        drain()

        assert roster(database, tenant) == {"ada@example.com": ("active", "owner")}


class TestQuietWrites:
    def test_an_unchanged_put_enqueues_nothing_and_appends_no_event(
        self, scim: ScimClient, database: Database, tenant, broker
    ):
        user = scim.post("/Users", okta_user("ada@example.com")).json
        assert queued_jobs(broker) == 1
        reconcile_organization(database, tenant.id)
        broker.flush_all()
        broker.client.flushdb()
        events_before = event_types(database, tenant)

        scim.put(f"/Users/{user['id']}", user)

        assert queued_jobs(broker) == 0
        assert dirty_rows(database) == 0
        assert event_types(database, tenant) == events_before

    def test_a_burst_of_writes_coalesces_into_one_pending_job(self, scim: ScimClient, broker):
        for i in range(20):
            scim.post("/Users", okta_user(f"user{i}@example.com"))

        assert queued_jobs(broker) == 1

    def test_a_change_the_roster_ignores_bumps_the_version_but_not_the_generation(
        self, scim: ScimClient, database: Database, drain
    ):
        user = scim.post("/Users", okta_user("ada@example.com")).json
        drain()

        updated = scim.patch(
            f"/Users/{user['id']}", patch_op({"op": "replace", "path": "locale", "value": "fr-FR"})
        ).json

        assert updated["meta"]["version"] != user["meta"]["version"]
        assert dirty_rows(database) == 0


class TestReconcile:
    def test_reconcile_twice_is_harmless(self, scim: ScimClient, database: Database, tenant):
        for i in range(5):
            scim.post("/Users", okta_user(f"user{i}@example.com"))

        first = reconcile_organization(database, tenant.id, batch_size=2)
        second = reconcile_organization(database, tenant.id, batch_size=2)

        assert (first.rows_applied, first.batches, first.events_appended) == (5, 3, 5)
        assert second.rows_applied == 0
        assert len(event_types(database, tenant)) == 5

    def test_a_short_batch_ends_the_job(self, scim: ScimClient, database: Database, tenant):
        # Rows written after a short batch are the next job's: chasing them here would apply
        # a burst a few rows at a time, each batch paying for the organization lock.
        for i in range(3):
            scim.post("/Users", okta_user(f"user{i}@example.com"))
        claims = []

        def count_claims(_conn, _cursor, statement: str, *_args) -> None:
            if statement.startswith("UPDATE directory_users SET applied_generation"):
                claims.append(statement)

        event.listen(database.engine, "before_cursor_execute", count_claims)
        try:
            result = reconcile_organization(database, tenant.id, batch_size=5)
        finally:
            event.remove(database.engine, "before_cursor_execute", count_claims)

        assert (result.rows_applied, result.batches, len(claims)) == (3, 1, 1)
        assert dirty_rows(database) == 0

    def test_a_user_name_change_moves_the_membership_to_the_new_address(
        self, scim: ScimClient, database: Database, tenant
    ):
        user = scim.post("/Users", okta_user("ada@example.com")).json
        reconcile_organization(database, tenant.id)
        readdress(scim, user, "ada.lovelace@example.com")

        reconcile_organization(database, tenant.id)

        assert roster(database, tenant) == {
            "ada.lovelace@example.com": ("active", "member"),
            "ada@example.com": ("removed", "member"),
        }

    def test_a_user_deleted_after_taking_a_former_members_address_leaves_the_roster(
        self, scim: ScimClient, database: Database, tenant
    ):
        # Bob's old membership comes back for Ada's user, so two members then name her
        # directory user: her first address (removed) and Bob's (live). Deleting the user
        # must remove the live one, in whatever order the two are read.
        bob = scim.post("/Users", okta_user("bob@example.com")).json
        reconcile_organization(database, tenant.id)
        scim.delete(f"/Users/{bob['id']}")
        ada = scim.post("/Users", okta_user("ada@example.com")).json
        reconcile_organization(database, tenant.id)
        readdress(scim, ada, "bob@example.com")
        reconcile_organization(database, tenant.id)
        scim.delete(f"/Users/{ada['id']}")

        reconcile_organization(database, tenant.id)

        assert roster(database, tenant) == {
            "ada@example.com": ("removed", "member"),
            "bob@example.com": ("removed", "member"),
        }
        assert event_types(database, tenant)[-3:] == [
            "member.removed",
            "member.added",
            "member.removed",
        ]

    def test_event_sequence_is_gapless_and_ids_are_unique(
        self, scim: ScimClient, database: Database, tenant
    ):
        for i in range(4):
            scim.post("/Users", okta_user(f"user{i}@example.com"))
        reconcile_organization(database, tenant.id)

        with database.reading() as session:
            events = events_after(session, tenant.id)
        assert [event.sequence for event in events] == [1, 2, 3, 4]
        assert len({event.id for event in events}) == 4

    def test_names_reach_the_roster_and_events_exactly_as_sent(
        self, scim: ScimClient, database: Database, tenant
    ):
        # Quotes, backslashes, braces and commas are what array and JSON encodings escape.
        families = ['O"Brien \\ {x}, y', "Lovelace 🧮", "Zoë Ñandú"]
        for i, family in enumerate(families):
            scim.post("/Users", okta_user(f"user{i}@example.com", given="Ada", family=family))
        before = utcnow()

        reconcile_organization(database, tenant.id)

        with database.reading() as session:
            members = roster_of(session, tenant.id)
            events = events_after(session, tenant.id)
        expected = [f"Ada {family}" for family in families]
        assert [member["display_name"] for member in members] == expected
        assert [event.data["display_name"] for event in events] == expected
        assert all(before <= event.occurred_at <= utcnow() for event in events)

    def test_members_who_leave_are_named_by_the_address_they_had(
        self, scim: ScimClient, database: Database, tenant
    ):
        ada = scim.post("/Users", okta_user("ada@example.com")).json
        bob = scim.post("/Users", okta_user("bob@example.com")).json
        reconcile_organization(database, tenant.id)
        scim.delete(f"/Users/{ada['id']}")
        readdress(scim, bob, "robert@example.com")

        reconcile_organization(database, tenant.id)

        with database.reading() as session:
            events = events_after(session, tenant.id, after_sequence=2)
        assert [(event.type, event.data["email"]) for event in events] == [
            ("member.removed", "ada@example.com"),
            ("member.removed", "bob@example.com"),
            ("member.added", "robert@example.com"),
        ]


def test_a_roster_batch_does_not_hold_up_the_organizations_directory_writes(
    postgres_database: PostgresDatabase,
):
    postgres_database.truncate()
    database = Database.from_url(postgres_database.url, pool_size=2)
    tenant = OrganizationFixture.create(database, "acme", ["example.com"])
    ada = user_write(parse_user(okta_user("ada@example.com"), Context.RESOURCE_CREATION_REQUEST))
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            with database.writing() as roster_batch:
                lock_organization(roster_batch, tenant.id)
                # The insert checks its foreign key to the organization row the batch holds:
                # under FOR UPDATE it would wait until the batch commits.
                creating = pool.submit(DirectoryService(database).create_user, tenant.id, ada)
                finished, _ = wait([creating], timeout=5)
            assert finished, "the create waited for the roster batch to commit"
            assert creating.result().id
    finally:
        database.dispose()
