"""GET /admin/v1/orgs/{org}/events: the events feed, read by cursor with an operator token."""

from __future__ import annotations

from models.core.db import Database
from models.roster.reconcile import reconcile_organization
from tests.support.admin import AdminClient
from tests.support.scim import ScimClient, okta_user, patch_op


def test_the_feed_pages_through_the_log_in_order_by_sequence(
    admin: AdminClient, scim: ScimClient, database: Database, tenant
):
    users = [scim.post("/Users", okta_user(f"user{i}@example.com")).json for i in range(5)]
    scim.patch(f"/Users/{users[0]['id']}", patch_op({"op": "replace", "value": {"active": False}}))
    reconcile_organization(database, tenant.id)

    first = admin.get(f"/orgs/{tenant.slug}/events", params={"limit": "4"}).json
    second = admin.get(
        f"/orgs/{tenant.slug}/events", params={"after": str(first["next_after"]), "limit": "4"}
    ).json
    last = admin.get(
        f"/orgs/{tenant.slug}/events", params={"after": str(second["next_after"])}
    ).json

    sequences = [e["sequence"] for e in first["events"] + second["events"]]
    assert sequences == [1, 2, 3, 4, 5]
    assert second["events"][-1]["type"] == "member.added"
    assert last == {"events": [], "next_after": 5}
    assert first["events"][0]["organization"] == tenant.slug
    assert len({e["id"] for e in first["events"] + second["events"]}) == 5


def test_the_feed_needs_an_operator_token_not_a_scim_token(admin: AdminClient, tenant):
    response = admin.get(f"/orgs/{tenant.slug}/events", token=tenant.token)

    assert response.status_code == 401


def test_a_bad_cursor_is_a_clear_400(admin: AdminClient, tenant):
    response = admin.get(f"/orgs/{tenant.slug}/events", params={"after": "yesterday"})

    assert response.status_code == 400
    assert "after" in response.json["detail"]
