"""One organization's token can never read or change another organization's users.

Two organizations, each with users. Every SCIM endpoint and method is tried with acme's
token against globex's URL, and with acme's URL against globex's user ids; every filter
trick that could widen a query is tried on acme's URL. Globex's users must come out of it
exactly as they went in.
"""

from __future__ import annotations

import falcon
import pytest

from tests.support.scim import OrganizationFixture, ScimClient, okta_user, patch_op


@pytest.fixture
def acme_scim(app: falcon.App, acme: OrganizationFixture) -> ScimClient:
    return ScimClient(app, acme.slug, acme.token)


@pytest.fixture
def globex_scim(app: falcon.App, globex: OrganizationFixture) -> ScimClient:
    return ScimClient(app, globex.slug, globex.token)


@pytest.fixture
def users(acme_scim: ScimClient, globex_scim: ScimClient) -> dict[str, dict]:
    made = {
        "ada": acme_scim.post("/Users", okta_user("ada@acme.com")),
        "gus": globex_scim.post("/Users", okta_user("gus@globex.com", "Gus", "Grey")),
        "gil": globex_scim.post("/Users", okta_user("gil@globex.com", "Gil", "Green")),
    }
    assert {r.status_code for r in made.values()} == {201}
    return {name: response.json for name, response in made.items()}


def search(expression: str) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": expression,
        "count": 1000,
    }


def globex_state(globex_scim: ScimClient) -> list[dict]:
    listed = globex_scim.get("/Users")
    assert listed.status_code == 200
    return sorted(listed.json["Resources"], key=lambda user: user["userName"])


class TestAnotherOrganizationsUrl:
    def test_acme_token_on_globex_users_is_401(
        self, app: falcon.App, acme: OrganizationFixture, globex: OrganizationFixture
    ):
        # (The discovery endpoints need no token at all: they describe the server and hold
        # nothing of any organization.)
        as_acme_on_globex = ScimClient(app, globex.slug, acme.token)

        response = as_acme_on_globex.get("/Users")

        assert response.status_code == 401
        assert response.json["status"] == "401"

    def test_every_write_method_with_acme_token_on_globex_urls_is_401_and_changes_nothing(
        self, app: falcon.App, acme: OrganizationFixture, globex, users, globex_scim
    ):
        before = globex_state(globex_scim)
        as_acme_on_globex = ScimClient(app, globex.slug, acme.token)
        gus = users["gus"]

        responses = [
            as_acme_on_globex.get(f"/Users/{gus['id']}"),
            as_acme_on_globex.get("/Users", params={"filter": 'userName eq "gus@globex.com"'}),
            as_acme_on_globex.post("/Users/.search", search("userName pr")),
            as_acme_on_globex.post("/.search", search("userName pr")),
            as_acme_on_globex.post("/Users", okta_user("eve@globex.com")),
            as_acme_on_globex.put(f"/Users/{gus['id']}", {**gus, "displayName": "Owned"}),
            as_acme_on_globex.patch(
                f"/Users/{gus['id']}", patch_op({"op": "replace", "value": {"active": False}})
            ),
            as_acme_on_globex.delete(f"/Users/{gus['id']}"),
        ]

        assert [r.status_code for r in responses] == [401] * len(responses)
        assert globex_state(globex_scim) == before

    def test_a_token_for_an_organization_that_does_not_exist_is_401(
        self, app: falcon.App, acme: OrganizationFixture
    ):
        assert ScimClient(app, "nobody", acme.token).get("/Users").status_code == 401


class TestAnotherOrganizationsIds:
    def test_globex_ids_through_acme_url_are_not_found_for_every_method(
        self, acme_scim: ScimClient, globex_scim: ScimClient, users
    ):
        before = globex_state(globex_scim)
        gus = users["gus"]

        responses = [
            acme_scim.get(f"/Users/{gus['id']}"),
            acme_scim.put(f"/Users/{gus['id']}", {**gus, "displayName": "Owned"}),
            acme_scim.put(
                f"/Users/{gus['id']}",
                {**okta_user("ada2@acme.com"), "id": gus["id"]},
            ),
            acme_scim.patch(
                f"/Users/{gus['id']}", patch_op({"op": "replace", "value": {"active": False}})
            ),
            acme_scim.patch(
                f"/Users/{gus['id']}",
                patch_op({"op": "replace", "path": "userName", "value": "x@acme.com"}),
            ),
            acme_scim.delete(f"/Users/{gus['id']}"),
        ]

        assert [r.status_code for r in responses] == [404] * len(responses)
        assert globex_state(globex_scim) == before

    def test_acme_cannot_claim_a_globex_address(self, acme_scim: ScimClient, users):
        response = acme_scim.post("/Users", okta_user("gus@globex.com"))

        assert response.status_code == 400
        assert "'globex.com' is not verified" in response.json["detail"]


class TestFilters:
    @pytest.mark.parametrize(
        "expression",
        [
            'userName eq "gus@globex.com"',
            'userName eq "nobody@acme.com" or userName pr',
            'userName eq "nobody@acme.com" or userName eq "gus@globex.com"',
            "userName pr or id pr or externalId pr",
            'not (userName eq "nobody@acme.com")',
            "active eq true or active eq false",
            'userName co "@" or displayName co " "',
            'userName ew "globex.com" or userName sw "g"',
            'meta.created gt "2000-01-01T00:00:00Z" or meta.created lt "2000-01-01T00:00:00Z"',
            "(userName pr) or (not (userName pr))",
        ],
    )
    def test_no_filter_reaches_past_the_organization(
        self, acme_scim: ScimClient, users, expression: str
    ):
        response = acme_scim.get("/Users", params={"filter": expression, "count": 1000})

        assert response.status_code == 200, response.text
        names = {user["userName"] for user in response.json["Resources"]}
        assert names <= {"ada@acme.com"}
        assert response.json["totalResults"] == len(names)

    @pytest.mark.parametrize("path", ["/Users/.search", "/.search"])
    @pytest.mark.parametrize(
        "expression",
        ["userName pr", 'userName eq "gus@globex.com" or userName pr', "not (id pr)"],
    )
    def test_no_search_reaches_past_the_organization(
        self, acme_scim: ScimClient, users, path: str, expression: str
    ):
        response = acme_scim.post(path, search(expression))

        assert response.status_code == 200, response.text
        assert {u["userName"] for u in response.json["Resources"]} <= {"ada@acme.com"}

    def test_ids_and_external_ids_of_globex_match_nothing_through_acme(
        self, acme_scim: ScimClient, users
    ):
        gus, ada = users["gus"], users["ada"]
        expressions = [
            f'id eq "{gus["id"]}"',
            f'id eq "{gus["id"]}" or id eq "{ada["id"]}"',
            f'externalId eq "{gus["externalId"]}"',
            f'externalId eq "{gus["externalId"]}" or externalId eq "{ada["externalId"]}"',
        ]

        found = [
            [u["id"] for u in acme_scim.get("/Users", params={"filter": e}).json["Resources"]]
            for e in expressions
        ]

        assert found == [[], [ada["id"]], [], [ada["id"]]]

    def test_a_globex_cursor_is_refused_through_acme(
        self, acme_scim: ScimClient, globex_scim: ScimClient, users
    ):
        first = globex_scim.get("/Users", params={"count": 1, "cursor": ""}).json
        assert first["nextCursor"]

        response = acme_scim.get("/Users", params={"count": 1, "cursor": first["nextCursor"]})

        # A cursor is bound to the organization that issued it.
        assert response.status_code == 400, response.text
        assert "gus@globex.com" not in response.text

    def test_paging_counts_only_the_organization(self, acme_scim: ScimClient, users):
        page = acme_scim.get("/Users", params={"startIndex": 1, "count": 1})

        assert page.json["totalResults"] == 1
        assert [u["userName"] for u in page.json["Resources"]] == ["ada@acme.com"]
        assert acme_scim.get("/Users", params={"startIndex": 2}).json["Resources"] == []
