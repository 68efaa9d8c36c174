"""Full reconcile repairs drift: the roster comes back to what the directory says."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from models.core.db import Database
from models.directory.tables import DirectoryUser
from models.events.log import events_after
from models.roster.reconcile import full_reconcile, reconcile_organization, roster_of
from models.roster.tables import Account, Member
from tests.support.scim import ScimClient, okta_user


def roster(database: Database, organization_id: int) -> dict[str, str]:
    with database.reading() as session:
        return {m["email"]: m["status"] for m in roster_of(session, organization_id)}


def last_event(database: Database, organization_id: int) -> tuple[str, str]:
    with database.reading() as session:
        event = events_after(session, organization_id)[-1]
        return event.type, event.data["email"]


def member_id(database: Database, email: str) -> int:
    with database.reading() as session:
        return session.scalar(
            select(Member.id)
            .join(Account, Account.id == Member.account_id)
            .where(Account.email == email)
        )


def test_a_member_deactivated_behind_our_back_is_reactivated(
    scim: ScimClient, database: Database, tenant
):
    scim.post("/Users", okta_user("ada@example.com"))
    reconcile_organization(database, tenant.id)
    with database.writing() as session:
        session.execute(update(Member).values(status="deactivated"))

    result = full_reconcile(database, tenant.id)

    assert roster(database, tenant.id) == {"ada@example.com": "active"}
    assert result.events_appended == 1
    assert last_event(database, tenant.id) == ("member.reactivated", "ada@example.com")


def test_a_member_deleted_behind_our_back_comes_back(scim: ScimClient, database: Database, tenant):
    scim.post("/Users", okta_user("ada@example.com"))
    reconcile_organization(database, tenant.id)
    with database.writing() as session:
        session.execute(delete(Member).where(Member.id == member_id(database, "ada@example.com")))

    full_reconcile(database, tenant.id)

    assert roster(database, tenant.id) == {"ada@example.com": "active"}
    assert last_event(database, tenant.id) == ("member.added", "ada@example.com")


def test_a_scim_member_without_a_directory_user_is_removed(
    scim: ScimClient, database: Database, tenant
):
    scim.post("/Users", okta_user("ada@example.com"))
    reconcile_organization(database, tenant.id)
    with database.writing() as session:
        session.execute(delete(DirectoryUser))

    full_reconcile(database, tenant.id)

    assert roster(database, tenant.id) == {"ada@example.com": "removed"}
    assert last_event(database, tenant.id) == ("member.removed", "ada@example.com")


def test_a_roster_in_step_gets_no_events(scim: ScimClient, database: Database, tenant):
    for i in range(3):
        scim.post("/Users", okta_user(f"user{i}@example.com"))
    reconcile_organization(database, tenant.id)

    result = full_reconcile(database, tenant.id)

    assert result.rows_applied == 3
    assert result.events_appended == 0
