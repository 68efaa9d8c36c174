"""Microsoft Entra ID's provisioning cycle, its SCIM validator and Postman collection, replayed
against a live server, with and without `aadOptscim062020` in the tenant URL.

Without the flag Entra ID capitalises ops and sends booleans as strings; with it, it sends
them as the RFC says. The server must accept both and end with the same roster.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.replays.conftest import LiveScim
from tests.support.processes import wait_until
from tests.support.scim import ENTRA_GROUP_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, patch_op

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
FLAG = "aadOptscim062020"


class Entra:
    """Speaks as Entra ID does, with or without the flag in its tenant URL."""

    def __init__(self, live: LiveScim, flagged: bool) -> None:
        self.client = live.client(FLAG if flagged else "")
        self.flagged = flagged

    def op(self, name: str) -> str:
        return name if self.flagged else name.capitalize()

    def boolean(self, value: bool) -> Any:
        return value if self.flagged else str(value)

    def find(self, endpoint: str, expression: str, **params: str) -> list[dict]:
        response = self.client.get(endpoint, params={"filter": expression, **params})
        assert response.status_code == 200, response.text
        return response.json()["Resources"]

    def patch(self, path: str, *operations: dict) -> httpx.Response:
        response = self.client.patch(path, json=patch_op(*operations))
        assert response.status_code in (200, 204), response.text
        return response


def entra_user(email: str, external_id: str, given: str, family: str) -> dict:
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": external_id,
        "userName": email,
        "active": True,
        "displayName": f"{given} {family}",
        "emails": [{"primary": True, "type": "work", "value": email}],
        "name": {"givenName": given, "familyName": family, "formatted": f"{given} {family}"},
        "title": "Engineer",
        ENTERPRISE: {"employeeNumber": "42", "department": "R&D"},
    }


def member(live: LiveScim, email: str) -> dict:
    return live.stack.roster("acme").get(email) or {}


def teams(live: LiveScim) -> dict[str, list[str]]:
    listed = json.loads(live.stack.cli("teams", "acme", "--json").stdout)
    return {team["name"]: team["members"] for team in listed}


@pytest.fixture(params=[False, True], ids=["string-booleans", FLAG])
def flagged(request: pytest.FixtureRequest) -> bool:
    return request.param


def test_entra_provisioning_cycle(live: LiveScim, flagged: bool):
    entra = Entra(live, flagged)
    ids: dict[str, str] = {}

    # Initial cycle: a filtered GET per object, then a create.
    for email, external_id, given in (
        ("ada@example.com", "ext-ada", "Ada"),
        ("grace@example.com", "ext-grace", "Grace"),
    ):
        assert entra.find("/Users", f'userName eq "{email}"') == []
        created = entra.client.post("/Users", json=entra_user(email, external_id, given, "X"))
        assert created.status_code == 201, created.text
        ids[email] = created.json()["id"]
    assert [u["id"] for u in entra.find("/Users", 'externalId eq "ext-ada"')] == [
        ids["ada@example.com"]
    ]

    # Incremental cycle: attribute updates in Entra's shapes.
    ada = f"/Users/{ids['ada@example.com']}"
    entra.patch(
        ada,
        {
            "op": entra.op("replace"),
            "path": 'emails[type eq "work"].value',
            "value": "ada@example.com",
        },
        {"op": entra.op("replace"), "path": "name.givenName", "value": "Augusta"},
        {"op": entra.op("add"), "path": f"{ENTERPRISE}:manager", "value": ids["grace@example.com"]},
        {
            "op": entra.op("replace"),
            "value": {"displayName": "Augusta X", "name.familyName": "King"},
        },
    )
    user = entra.client.get(ada).json()
    assert user["name"]["givenName"] == "Augusta"
    assert user["name"]["familyName"] == "King"
    assert user[ENTERPRISE]["manager"]["value"] == ids["grace@example.com"]
    wait_until(
        lambda: member(live, "ada@example.com").get("display_name") == "Augusta X",
        what="the new display name",
    )

    # Groups: looked up without members, created with Entra's schema, then memberships.
    assert entra.find("/Groups", 'displayName eq "Sales"', excludedAttributes="members") == []
    group = entra.client.post(
        "/Groups",
        json={
            "schemas": [GROUP_SCHEMA, ENTRA_GROUP_SCHEMA],
            "externalId": "g-1",
            "displayName": "Sales",
        },
    )
    assert group.status_code == 201, group.text
    path = f"/Groups/{group.json()['id']}"
    for user_id in ids.values():
        entra.patch(
            path,
            {"op": entra.op("add"), "path": "members", "value": [{"$ref": None, "value": user_id}]},
        )
    wait_until(
        lambda: teams(live) == {"Sales": ["ada@example.com", "grace@example.com"]},
        what="the Sales team",
    )
    found = entra.find("/Groups", 'displayName eq "Sales"', excludedAttributes="members")
    assert [g["id"] for g in found] == [group.json()["id"]] and "members" not in found[0]

    entra.patch(
        path,
        {"op": entra.op("remove"), "path": "members", "value": [{"value": ids["ada@example.com"]}]},
        {"op": entra.op("replace"), "path": "displayName", "value": "Sales EMEA"},
    )
    wait_until(lambda: teams(live) == {"Sales EMEA": ["grace@example.com"]}, what="removal")

    # Soft delete: active false; the user stays readable and findable.
    entra.patch(ada, {"op": entra.op("replace"), "path": "active", "value": entra.boolean(False)})
    assert entra.client.get(ada).json()["active"] is False
    assert len(entra.find("/Users", 'userName eq "ada@example.com"')) == 1
    wait_until(
        lambda: member(live, "ada@example.com").get("status") == "deactivated",
        what="deactivation",
    )

    # Remove all members, delete the group, then the hard delete of a user.
    entra.patch(path, {"op": "remove", "path": "members"})
    assert entra.client.delete(path).status_code == 204
    assert entra.client.delete(ada).status_code == 204
    wait_until(lambda: teams(live) == {}, what="the team to go")
    wait_until(
        lambda: member(live, "ada@example.com").get("status") == "removed",
        what="the removal",
    )
    assert entra.client.get(ada).status_code == 404
    entra.client.close()


def test_microsoft_postman_collection(live: LiveScim, flagged: bool):
    entra = Entra(live, flagged)
    client = entra.client
    # Attribute names in other cases, booleans as strings.
    first = client.post(
        "/Users",
        json={
            "UserName": "UserName123@example.com",
            "Active": True,
            "DisplayName": "BobIsAmazing",
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "externalId": "postman-1",
            "name": {"formatted": "Ryan Leenay", "familyName": "Leenay", "givenName": "Ryan"},
            "emails": [
                {"Primary": True, "type": "work", "value": "UserName123@example.com"},
                {"Primary": False, "type": "home", "value": "ryan@home.example.org"},
            ],
        },
    )
    assert first.status_code == 201, first.text
    assert first.json()["userName"] == "UserName123@example.com"
    second = client.post(
        "/Users",
        json={
            "UserName": "UserName222@example.com",
            "Active": "True",
            "schemas": [USER_SCHEMA],
            "externalId": "postman-2",
            "emails": [{"Primary": "True", "type": "work", "value": "UserName222@example.com"}],
        },
    )
    assert second.status_code == 201, second.text
    assert second.json()["active"] is True
    user_id = first.json()["id"]

    # Reads: by id, by filter in another case, with attributes (answered, whatever it projects).
    assert client.get(f"/Users/{user_id}").status_code == 200
    assert len(entra.find("/Users", 'UserName eq "username123@example.com"')) == 1
    assert client.get("/Users", params={"attributes": "userName,emails"}).status_code == 200
    duplicate = client.post("/Users", json={**first.json(), "id": None})
    assert duplicate.status_code == 409

    # Updates: PATCH in Entra's shapes, then PUT of the whole object.
    entra.patch(
        f"/Users/{user_id}",
        {"op": entra.op("replace"), "path": "active", "value": entra.boolean(False)},
        {"op": entra.op("add"), "path": "nickName", "value": "Babs"},
        {"op": entra.op("remove"), "path": "emails", "value": [{"value": "ryan@home.example.org"}]},
    )
    user = client.get(f"/Users/{user_id}").json()
    assert (user["active"], user["nickName"], len(user["emails"])) == (False, "Babs", 1)
    user["displayName"] = "Ryan"
    replaced = client.put(f"/Users/{user_id}", json=user)
    assert replaced.status_code == 200 and replaced.json()["displayName"] == "Ryan"

    # Groups.
    group = client.post(
        "/Groups",
        json={
            "displayName": "Group1DisplayName",
            "externalId": "g-postman",
            "schemas": [GROUP_SCHEMA],
        },
    )
    assert group.status_code == 201, group.text
    group_path = f"/Groups/{group.json()['id']}"
    entra.patch(
        group_path,
        {"op": entra.op("add"), "path": "members", "value": [{"value": user_id}]},
        {"op": entra.op("add"), "path": "members", "value": [{"value": second.json()["id"]}]},
    )
    without_members = client.get(group_path, params={"excludedAttributes": "members"}).json()
    assert "members" not in without_members
    assert len(client.get(group_path).json()["members"]) == 2
    assert [
        g["displayName"] for g in entra.find("/Groups", 'DisplayName eq "group1displayname"')
    ] == ["Group1DisplayName"]
    entra.patch(group_path, {"op": entra.op("replace"), "path": "displayName", "value": "Renamed"})
    assert client.get(group_path).json()["displayName"] == "Renamed"

    # Errors the collection checks.
    assert client.get("/Users/not-a-user").status_code == 404
    assert client.get("/Groups/not-a-group").status_code == 404

    # Clean up as the collection does.
    assert client.delete(group_path).status_code == 204
    for created in (first, second):
        assert client.delete(f"/Users/{created.json()['id']}").status_code == 204
    assert client.get("/Users").json()["totalResults"] == 0
    client.close()
