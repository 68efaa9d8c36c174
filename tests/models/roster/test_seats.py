"""An optional seat limit: members past it wait as pending_seat, and get a seat when one frees."""

from __future__ import annotations

from models.core.db import Database
from models.events.log import events_after
from models.roster.reconcile import reconcile_organization, roster_of
from tests.support.admin import AdminClient
from tests.support.scim import ScimClient, okta_user, patch_op


def members(database: Database, organization_id: int) -> dict[str, tuple[str, str | None]]:
    with database.reading() as session:
        return {
            m["email"]: (m["status"], m["status_reason"])
            for m in roster_of(session, organization_id)
        }


def event_types(database: Database, organization_id: int, after: int = 0) -> list[str]:
    with database.reading() as session:
        return [e.type for e in events_after(session, organization_id, after)]


def set_active(scim: ScimClient, user_id: str, active: bool) -> None:
    response = scim.patch(
        f"/Users/{user_id}", patch_op({"op": "replace", "value": {"active": active}})
    )
    assert response.status_code == 200


def test_past_the_limit_a_member_waits_with_the_reason_then_takes_a_freed_seat(
    admin: AdminClient, scim: ScimClient, database: Database, tenant
):
    assert admin.patch(f"/orgs/{tenant.slug}/settings", {"seat_limit": 2}).status_code == 200
    ids = [scim.post("/Users", okta_user(f"user{i}@example.com")).json["id"] for i in range(3)]
    reconcile_organization(database, tenant.id)

    reason = "the seat limit of 2 is reached"
    assert members(database, tenant.id) == {
        "user0@example.com": ("active", None),
        "user1@example.com": ("active", None),
        "user2@example.com": ("pending_seat", reason),
    }

    set_active(scim, ids[0], False)
    reconcile_organization(database, tenant.id)

    assert members(database, tenant.id) == {
        "user0@example.com": ("deactivated", None),
        "user1@example.com": ("active", None),
        "user2@example.com": ("active", None),
    }
    assert event_types(database, tenant.id, after=3) == [
        "member.deactivated",
        "member.seat_granted",
    ]


def test_raising_the_limit_grants_seats_without_any_directory_change(
    admin: AdminClient, scim: ScimClient, database: Database, tenant
):
    admin.patch(f"/orgs/{tenant.slug}/settings", {"seat_limit": 1})
    for i in range(3):
        scim.post("/Users", okta_user(f"user{i}@example.com"))
    reconcile_organization(database, tenant.id)

    admin.patch(f"/orgs/{tenant.slug}/settings", {"seat_limit": None})
    result = reconcile_organization(database, tenant.id)

    assert {status for status, _ in members(database, tenant.id).values()} == {"active"}
    assert result.events_appended == 2
    assert event_types(database, tenant.id, after=3) == ["member.seat_granted"] * 2


def test_a_waiting_member_deactivated_by_the_idp_frees_nothing_and_waits_no_more(
    admin: AdminClient, scim: ScimClient, database: Database, tenant
):
    admin.patch(f"/orgs/{tenant.slug}/settings", {"seat_limit": 1})
    ids = [scim.post("/Users", okta_user(f"user{i}@example.com")).json["id"] for i in range(2)]
    reconcile_organization(database, tenant.id)

    set_active(scim, ids[1], False)
    reconcile_organization(database, tenant.id)

    assert members(database, tenant.id) == {
        "user0@example.com": ("active", None),
        "user1@example.com": ("deactivated", None),
    }
    assert event_types(database, tenant.id, after=2) == ["member.deactivated"]


def test_a_granted_seat_s_event_has_the_fields_of_every_member_event(
    admin: AdminClient, scim: ScimClient, database: Database, tenant
):
    admin.patch(f"/orgs/{tenant.slug}/settings", {"seat_limit": 0})
    user = okta_user("user0@example.com")
    user_id = scim.post("/Users", user).json["id"]
    reconcile_organization(database, tenant.id)

    admin.patch(f"/orgs/{tenant.slug}/settings", {"seat_limit": None})
    reconcile_organization(database, tenant.id)

    with database.reading() as session:
        waiting, granted = [e.data for e in events_after(session, tenant.id, 0)]
    assert granted.keys() == waiting.keys()
    assert (granted["user_id"], granted["external_id"]) == (user_id, user["externalId"])
