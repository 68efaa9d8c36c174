"""Okta's SCIM 2.0 spec test and its CRUD and group push flows, replayed against a live server.

The requests are shaped as Okta sends them (see IDP-TRAFFIC.md): a test connection, the
pre-check GET by userName, POST with Okta's extra attributes, PUT of the whole object,
deactivation, and Push Groups with the rename sent alongside every membership update.
"""

from __future__ import annotations

import json
import uuid

from tests.replays.conftest import LiveScim
from tests.support.processes import wait_until
from tests.support.scim import okta_group, okta_user, patch_op, user_filter


def teams(live: LiveScim) -> dict[str, list[str]]:
    listed = json.loads(live.stack.cli("teams", "acme", "--json").stdout)
    return {team["name"]: team["members"] for team in listed}


def event_types(live: LiveScim) -> list[str]:
    return [
        event["type"] for event in json.loads(live.stack.cli("events", "acme", "--json").stdout)
    ]


def test_okta_scim_2_spec_test(live: LiveScim):
    with live.client() as okta:
        # Required: the Users endpoint answers a ListResponse with integers.
        listing = okta.get("/Users", params={"count": 1, "startIndex": 1})
        assert listing.status_code == 200
        body = listing.json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (0, 0, 1)

        # Required: a random user does not exist, and an invalid userName finds nobody.
        for name in (f"{uuid.uuid4().hex}@example.com", "invalid-user-name"):
            found = okta.get("/Users", params={"filter": user_filter(name)}).json()
            assert found["totalResults"] == 0
            assert found["Resources"] == []

        # Required: create a user with realistic values; the answer echoes them.
        email = f"okta-{uuid.uuid4().hex[:8]}@example.com"
        created = okta.post("/Users", json=okta_user(email, "Spec", "Tester"))
        assert created.status_code == 201
        user = created.json()
        assert user["active"] is True
        assert user["userName"] == email
        assert user["name"] == {"givenName": "Spec", "familyName": "Tester"}
        assert user["emails"][0]["value"] == email
        assert created.headers["content-type"].startswith("application/scim+json")

        # Required: the user is not duplicated, in any case.
        duplicate = okta.post("/Users", json=okta_user(email.upper()))
        assert duplicate.status_code == 409
        assert duplicate.json()["scimType"] == "uniqueness"

        # Required: GET /Users/{id} and the filter on userName, case-insensitively.
        fetched = okta.get(f"/Users/{user['id']}")
        assert fetched.status_code == 200
        assert fetched.json()["userName"] == email
        by_name = okta.get("/Users", params={"filter": user_filter(email.upper())}).json()
        assert [found["id"] for found in by_name["Resources"]] == [user["id"]]

        # Required: an unknown id is a 404 with a SCIM error.
        missing = okta.get(f"/Users/{uuid.uuid4()}")
        assert missing.status_code == 404
        assert missing.json()["status"] == "404"

        # Optional: the Groups endpoint.
        groups = okta.get("/Groups", params={"count": 1, "startIndex": 1})
        assert groups.status_code == 200
        assert groups.json()["totalResults"] == 0


def test_okta_crud_and_push_groups_reach_the_roster(live: LiveScim):
    with live.client() as okta:
        ids = {}
        for email, given in (("ada@example.com", "Ada"), ("bob@example.com", "Bob")):
            precheck = okta.get("/Users", params={"filter": user_filter(email), "count": 100})
            assert precheck.json()["totalResults"] == 0
            ids[email] = okta.post("/Users", json=okta_user(email, given)).json()["id"]

        # Profile update by GET then PUT of the whole object (id and meta included); a title
        # is nothing the roster keeps, so it appends no event.
        user = okta.get(f"/Users/{ids['ada@example.com']}").json()
        user["title"] = "Countess"
        updated = okta.put(f"/Users/{user['id']}", json=user)
        assert updated.status_code == 200
        assert updated.json()["title"] == "Countess"

        # Push Groups: create, then membership updates that carry the rename each time.
        group = okta.post("/Groups", json=okta_group("Engineering")).json()
        assert group["members"] == []
        pushed = okta.patch(
            f"/Groups/{group['id']}",
            json=patch_op(
                {"op": "replace", "value": {"id": group["id"], "displayName": "Engineering"}},
                {
                    "op": "add",
                    "path": "members",
                    "value": [
                        {"value": ids["ada@example.com"], "display": "ada@example.com"},
                        {"value": ids["bob@example.com"], "display": "bob@example.com"},
                    ],
                },
            ),
        )
        assert pushed.status_code in (200, 204)
        wait_until(
            lambda: teams(live) == {"Engineering": ["ada@example.com", "bob@example.com"]},
            what="the team with both members",
        )

        renamed = okta.patch(
            f"/Groups/{group['id']}",
            json=patch_op(
                {"op": "replace", "value": {"id": group["id"], "displayName": "R&D"}},
                {"op": "remove", "path": f'members[value eq "{ids["bob@example.com"]}"]'},
            ),
        )
        assert renamed.status_code in (200, 204)
        wait_until(lambda: teams(live) == {"R&D": ["ada@example.com"]}, what="rename and removal")

        # Sometimes Okta replaces the whole list.
        okta.patch(
            f"/Groups/{group['id']}",
            json=patch_op(
                {"op": "replace", "path": "members", "value": [{"value": ids["bob@example.com"]}]}
            ),
        )
        wait_until(lambda: teams(live) == {"R&D": ["bob@example.com"]}, what="replaced members")

        # Deactivation by PUT; the member keeps its team but is deactivated.
        user = okta.get(f"/Users/{ids['bob@example.com']}").json()
        assert [g["display"] for g in user["groups"]] == ["R&D"]
        user["active"] = False
        assert okta.put(f"/Users/{user['id']}", json=user).status_code == 200
        wait_until(
            lambda: (
                live.stack.roster("acme").get("bob@example.com", {}).get("status") == "deactivated"
            ),
            what="deactivation",
        )

        # Unassigning the group in Okta deletes it.
        assert okta.delete(f"/Groups/{group['id']}").status_code == 204
        wait_until(lambda: teams(live) == {}, what="the team to go")

    assert event_types(live) == [
        "member.added",
        "member.added",
        "team.created",
        "team.member_added",
        "team.member_added",
        "team.renamed",
        "team.member_removed",
        "team.member_added",
        "team.member_removed",
        "member.deactivated",
        "team.deleted",
    ]
