"""/Groups through the Falcon app, against a real database and Redis (SQLite and PostgreSQL)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import update

from models.directory.tables import DirectoryGroup
from tests.support.scim import (
    ENTRA_GROUP_SCHEMA,
    GROUP_SCHEMA,
    OrganizationFixture,
    ScimClient,
    entra_group,
    members,
    okta_group,
    okta_user,
    patch_op,
)


def create_user(scim: ScimClient, email: str) -> str:
    response = scim.post("/Users", okta_user(email))
    assert response.status_code == 201, response.text
    return response.json["id"]


def create_group(scim: ScimClient, name: str = "Engineering", *member_ids: str) -> dict:
    response = scim.post("/Groups", okta_group(name, *member_ids))
    assert response.status_code == 201, response.text
    return response.json


def member_ids(scim: ScimClient, group_id: str) -> set[str]:
    return {member["value"] for member in scim.get(f"/Groups/{group_id}").json.get("members", [])}


@pytest.fixture
def ada(scim: ScimClient) -> str:
    return create_user(scim, "ada@example.com")


@pytest.fixture
def bob(scim: ScimClient) -> str:
    return create_user(scim, "bob@example.com")


class TestCreate:
    def test_okta_push_creates_an_empty_group(self, scim: ScimClient):
        response = scim.post("/Groups", okta_group("Engineering"))

        assert response.status_code == 201
        group = response.json
        assert group["displayName"] == "Engineering"
        assert group["members"] == []
        assert group["schemas"] == [GROUP_SCHEMA]
        assert group["meta"]["resourceType"] == "Group"
        assert group["meta"]["location"] == f"https://scim.test/scim/v2/acme/Groups/{group['id']}"
        assert response.headers["location"] == group["meta"]["location"]
        assert response.headers["etag"] == group["meta"]["version"]

    def test_entra_create_with_its_own_schema_and_external_id(self, scim: ScimClient):
        response = scim.post("/Groups", entra_group("Sales", external_id="e-123"))

        assert response.status_code == 201, response.text
        assert response.json["externalId"] == "e-123"
        assert ENTRA_GROUP_SCHEMA not in response.json["schemas"]

    def test_members_are_rendered_with_value_display_ref_and_type(self, scim: ScimClient, ada: str):
        group = create_group(scim, "Engineering", ada)

        assert group["members"] == [
            {
                "value": ada,
                "display": "Ada Lovelace",
                "$ref": f"https://scim.test/scim/v2/acme/Users/{ada}",
                "type": "User",
            }
        ]

    @pytest.mark.parametrize("name", ["Engineering", "engineering", "ENGINEERING"])
    def test_a_second_group_with_the_same_name_in_any_case_is_a_conflict(
        self, scim: ScimClient, name: str
    ):
        create_group(scim, "Engineering")

        response = scim.post("/Groups", okta_group(name))

        assert response.status_code == 409
        assert response.json["scimType"] == "uniqueness"

    @pytest.mark.parametrize(
        "body",
        [{"schemas": [GROUP_SCHEMA]}, {"schemas": [GROUP_SCHEMA], "displayName": "  "}],
    )
    def test_a_group_needs_a_display_name(self, scim: ScimClient, body: dict):
        response = scim.post("/Groups", body)

        assert response.status_code == 400
        assert response.json["scimType"] == "invalidValue"

    @pytest.mark.parametrize("attribute", ["displayName", "externalId"])
    def test_a_name_longer_than_it_can_be_stored_is_invalid_value(
        self, scim: ScimClient, attribute: str
    ):
        group = create_group(scim)
        too_long = "x" * 256
        item = f"/Groups/{group['id']}"

        refusals = [
            scim.post("/Groups", {**okta_group("Sales"), attribute: too_long}),
            scim.put(item, {**okta_group("Engineering"), attribute: too_long}),
            scim.patch(item, patch_op({"op": "replace", "path": attribute, "value": too_long})),
        ]

        for refused in refusals:
            assert refused.status_code == 400, refused.text
            assert refused.json["scimType"] == "invalidValue"
            assert f"{attribute} is longer than 255 characters" in refused.json["detail"]
        assert scim.get(item).json.get(attribute) != too_long

    def test_a_member_that_is_not_a_user_of_the_organization_is_invalid_value(
        self, scim: ScimClient
    ):
        response = scim.post("/Groups", okta_group("Engineering", "not-a-user"))

        assert response.status_code == 400
        assert response.json["scimType"] == "invalidValue"
        assert "not-a-user" in response.json["detail"]
        assert scim.get("/Groups").json["totalResults"] == 0

    def test_a_user_of_another_organization_cannot_be_a_member(
        self, scim: ScimClient, database, app
    ):
        other = OrganizationFixture.create(database, "globex", ["globex.com"])
        stranger = ScimClient(app, other.slug, other.token).post(
            "/Users", okta_user("eve@globex.com")
        )

        response = scim.post("/Groups", okta_group("Engineering", stranger.json["id"]))

        assert response.status_code == 400
        assert response.json["scimType"] == "invalidValue"

    def test_a_nested_group_member_is_refused(self, scim: ScimClient):
        inner = create_group(scim, "Inner")
        body = okta_group("Outer")
        body["members"] = [{"value": inner["id"], "type": "Group"}]

        response = scim.post("/Groups", body)

        assert response.status_code == 400
        assert response.json["scimType"] == "invalidValue"


class TestRead:
    def test_an_unknown_id_is_404(self, scim: ScimClient):
        response = scim.get("/Groups/0e0e0e0e-0000-0000-0000-000000000000")

        assert response.status_code == 404
        assert response.json["status"] == "404"

    def test_entra_lookup_by_display_name_without_members(self, scim: ScimClient, ada: str):
        create_group(scim, "Engineering", ada)
        create_group(scim, "Sales")
        query = quote('displayName eq "engineering"')

        response = scim.get(f"/Groups?excludedAttributes=members&filter={query}")

        assert response.status_code == 200
        assert response.json["totalResults"] == 1
        (group,) = response.json["Resources"]
        assert group["displayName"] == "Engineering"
        assert "members" not in group

    def test_external_id_filter(self, scim: ScimClient):
        scim.post("/Groups", entra_group("Sales", external_id="e-1"))
        scim.post("/Groups", entra_group("Support", external_id="e-2"))

        query = quote('externalId eq "e-2"')

        response = scim.get(f"/Groups?filter={query}")

        assert [group["displayName"] for group in response.json["Resources"]] == ["Support"]

    def test_list_shows_members_unless_excluded(self, scim: ScimClient, ada: str):
        create_group(scim, "Engineering", ada)

        listed = scim.get("/Groups").json["Resources"]

        assert [member["value"] for member in listed[0]["members"]] == [ada]

    def test_get_by_id_honours_excluded_members(self, scim: ScimClient, ada: str):
        group = create_group(scim, "Engineering", ada)

        response = scim.get(f"/Groups/{group['id']}?excludedAttributes=members")

        assert "members" not in response.json
        assert response.json["displayName"] == "Engineering"

    def test_the_full_filter_grammar_on_groups_and_their_members(
        self, scim: ScimClient, ada: str, bob: str
    ):
        create_group(scim, "Engineering", ada)
        create_group(scim, "Sales", bob)
        create_group(scim, "Empty")

        def names(expression: str) -> list[str]:
            response = scim.get(f"/Groups?filter={quote(expression)}&sortBy=displayName")
            assert response.status_code == 200, response.text
            return [group["displayName"] for group in response.json["Resources"]]

        assert names('displayName co "eng"') == ["Engineering"]
        assert names(f'members[value eq "{ada}"]') == ["Engineering"]
        assert names(f'members.value eq "{bob}" or displayName sw "E"') == [
            "Empty",
            "Engineering",
            "Sales",
        ]
        # Both users are called Ada Lovelace (okta_user's default name).
        assert names('members.display eq "ada lovelace"') == ["Engineering", "Sales"]
        assert names("not (members pr)") == ["Empty"]

    @pytest.mark.parametrize(
        "expression", ['members.$ref eq "x"', 'members[$ref eq "x"]', 'meta.version eq "1"', "x y"]
    )
    def test_a_filter_groups_cannot_answer_is_invalid_filter(
        self, scim: ScimClient, expression: str
    ):
        response = scim.get(f"/Groups?filter={quote(expression)}")

        assert response.status_code == 400
        assert response.json["scimType"] == "invalidFilter"

    def test_search_without_members_and_projection(self, scim: ScimClient, ada: str):
        group = create_group(scim, "Engineering", ada)

        found = scim.post(
            "/Groups/.search",
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": 'displayName eq "engineering"',
                "excludedAttributes": ["members"],
            },
        )
        projected = scim.get(f"/Groups/{group['id']}?attributes=displayName")

        assert found.status_code == 200, found.text
        assert [g["id"] for g in found.json["Resources"]] == [group["id"]]
        assert "members" not in found.json["Resources"][0]
        assert "members" not in projected.json and projected.json["displayName"] == "Engineering"

    def test_the_root_search_lists_users_and_groups_in_one_order(
        self, scim: ScimClient, ada: str, bob: str
    ):
        group = create_group(scim, "Engineering", ada)
        search = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

        everything = scim.post("/.search", {"schemas": [search]}).json
        by_name = scim.post(
            "/.search",
            {
                "schemas": [search],
                "filter": "displayName pr",
                "sortBy": "displayName",
                "excludedAttributes": ["members"],
                "startIndex": 2,
                "count": 1,
            },
        ).json
        users_only = scim.post("/.search", {"schemas": [search], "filter": 'userName sw "b"'})

        assert everything["totalResults"] == 3
        assert [r["id"] for r in everything["Resources"]] == [ada, bob, group["id"]]
        assert everything["Resources"][2]["members"][0]["value"] == ada
        # Ada Lovelace, Ada Lovelace, Engineering: the second is Bob's user.
        assert by_name["totalResults"] == 3
        assert [r["id"] for r in by_name["Resources"]] == [bob]
        assert [r["id"] for r in users_only.json["Resources"]] == [bob]
        assert scim.post("/.search", {"schemas": [search], "filter": "nope"}).status_code == 400
        assert scim.post("/.search", {"schemas": [search], "cursor": ""}).status_code == 400

    def test_if_none_match_with_the_current_version_is_304(self, scim: ScimClient):
        group = create_group(scim)

        response = scim.get(
            f"/Groups/{group['id']}", headers={"If-None-Match": group["meta"]["version"]}
        )

        assert response.status_code == 304

    def test_a_user_shows_its_groups_read_only(self, scim: ScimClient, ada: str):
        group = create_group(scim, "Engineering", ada)

        user = scim.get(f"/Users/{ada}").json

        assert user["groups"] == [
            {
                "value": group["id"],
                "display": "Engineering",
                "$ref": f"https://scim.test/scim/v2/acme/Groups/{group['id']}",
                "type": "direct",
            }
        ]

    def test_groups_sent_back_in_a_user_put_change_nothing(self, scim: ScimClient, ada: str):
        create_group(scim, "Engineering", ada)
        user = scim.get(f"/Users/{ada}").json
        other = create_group(scim, "Sales")
        user["groups"].append({"value": other["id"]})

        response = scim.put(f"/Users/{ada}", user)

        assert response.status_code == 200, response.text
        assert [group["display"] for group in response.json["groups"]] == ["Engineering"]


class TestPatch:
    def test_okta_rename_with_membership_changes(self, scim: ScimClient, ada: str, bob: str):
        group = create_group(scim, "Eng", ada)

        response = scim.patch(
            f"/Groups/{group['id']}",
            patch_op(
                {"op": "replace", "value": {"id": group["id"], "displayName": "Engineering"}},
                {"op": "remove", "path": f'members[value eq "{ada}"]'},
                {"op": "add", "path": "members", "value": [{"value": bob, "display": "bob"}]},
            ),
        )

        assert response.status_code == 204
        assert response.headers["etag"] != group["meta"]["version"]
        current = scim.get(f"/Groups/{group['id']}").json
        assert current["displayName"] == "Engineering"
        assert {member["value"] for member in current["members"]} == {bob}

    def test_entra_add_and_remove_with_a_value_list(self, scim: ScimClient, ada: str, bob: str):
        group = create_group(scim, "Engineering")
        path = f"/Groups/{group['id']}"

        scim.patch(
            path,
            patch_op(
                {"op": "Add", "path": "members", "value": [{"$ref": None, "value": ada}]},
                {"op": "Add", "path": "members", "value": [{"$ref": None, "value": bob}]},
            ),
        )
        assert member_ids(scim, group["id"]) == {ada, bob}

        scim.patch(path, patch_op({"op": "Remove", "path": "members", "value": [{"value": ada}]}))
        assert member_ids(scim, group["id"]) == {bob}

    def test_remove_all_members(self, scim: ScimClient, ada: str, bob: str):
        group = create_group(scim, "Engineering", ada, bob)

        response = scim.patch(
            f"/Groups/{group['id']}", patch_op({"op": "remove", "path": "members"})
        )

        assert response.status_code == 204
        assert member_ids(scim, group["id"]) == set()

    def test_replace_members(self, scim: ScimClient, ada: str, bob: str):
        group = create_group(scim, "Engineering", ada)

        scim.patch(
            f"/Groups/{group['id']}",
            patch_op({"op": "replace", "path": "members", "value": members(bob)}),
        )

        assert member_ids(scim, group["id"]) == {bob}

    def test_removing_several_members_by_an_or_filter(self, scim: ScimClient, ada: str, bob: str):
        group = create_group(scim, "Engineering", ada, bob)

        scim.patch(
            f"/Groups/{group['id']}",
            patch_op({"op": "remove", "path": f'members[value eq "{ada}" or value eq "{bob}"]'}),
        )

        assert member_ids(scim, group["id"]) == set()

    def test_removing_a_member_who_is_not_there_succeeds_and_changes_nothing(
        self, scim: ScimClient, ada: str
    ):
        group = create_group(scim, "Engineering")

        response = scim.patch(
            f"/Groups/{group['id']}",
            patch_op({"op": "remove", "path": f'members[value eq "{ada}"]'}),
        )

        assert response.status_code == 204
        assert response.headers["etag"] == group["meta"]["version"]

    def test_entra_replace_display_name_and_external_id_by_path(self, scim: ScimClient):
        group = create_group(scim, "Engineering")

        scim.patch(
            f"/Groups/{group['id']}",
            patch_op(
                {"op": "Replace", "path": "displayName", "value": "R&D"},
                {"op": "Add", "path": "externalId", "value": "e-9"},
            ),
        )

        current = scim.get(f"/Groups/{group['id']}").json
        assert (current["displayName"], current["externalId"]) == ("R&D", "e-9")

    def test_asking_for_attributes_gets_the_group_back_instead_of_204(
        self, scim: ScimClient, ada: str
    ):
        group = create_group(scim, "Engineering")

        response = scim.patch(
            f"/Groups/{group['id']}?excludedAttributes=members",
            patch_op({"op": "add", "path": "members", "value": members(ada)}),
        )

        assert response.status_code == 200
        assert response.json["displayName"] == "Engineering"
        assert "members" not in response.json

    @pytest.mark.parametrize(
        "operation, scim_type",
        [
            ({"op": "replace", "value": {"id": "another-id", "displayName": "X"}}, "mutability"),
            ({"op": "replace", "path": "id", "value": "x"}, "mutability"),
            ({"op": "replace", "path": "meta.created", "value": "x"}, "mutability"),
            ({"op": "remove", "path": "displayName"}, "mutability"),
            ({"op": "replace", "path": "nickName", "value": "x"}, "invalidPath"),
            ({"op": "remove", "path": "members[value eq"}, "invalidPath"),
            ({"op": "add", "path": 'members[value eq "x"]', "value": "y"}, "invalidPath"),
            ({"op": "remove", "path": 'members[display eq "x"]'}, "invalidFilter"),
            ({"op": "remove"}, "noTarget"),
            ({"op": "move", "path": "displayName", "value": "x"}, "invalidValue"),
            ({"op": "add", "path": "members", "value": [{"value": "not-a-user"}]}, "invalidValue"),
            ({"op": "add", "path": "members", "value": "u1"}, "invalidValue"),
            ({"op": "replace", "path": "displayName", "value": ""}, "invalidValue"),
            ({"op": "replace", "path": "displayName"}, "invalidValue"),
            ({"op": "replace", "value": "Engineering"}, "invalidValue"),
        ],
    )
    def test_a_bad_operation_is_refused_with_its_scim_type_and_changes_nothing(
        self, scim: ScimClient, ada: str, operation: dict, scim_type: str
    ):
        group = create_group(scim, "Engineering", ada)

        # The good first operation must not survive the bad second one.
        response = scim.patch(
            f"/Groups/{group['id']}",
            patch_op({"op": "remove", "path": "members"}, operation),
        )

        assert response.status_code == 400, response.text
        assert response.json["scimType"] == scim_type
        current = scim.get(f"/Groups/{group['id']}").json
        assert current["meta"]["version"] == group["meta"]["version"]
        assert member_ids(scim, group["id"]) == {ada}

    def test_a_rename_onto_another_groups_name_is_a_conflict(self, scim: ScimClient):
        create_group(scim, "Engineering")
        sales = create_group(scim, "Sales")

        response = scim.patch(
            f"/Groups/{sales['id']}",
            patch_op({"op": "replace", "path": "displayName", "value": "ENGINEERING"}),
        )

        assert response.status_code == 409
        assert response.json["scimType"] == "uniqueness"

    @pytest.mark.parametrize("body", [{"Operations": []}, {"schemas": []}, [], "x"])
    def test_a_body_that_is_not_a_patch_op_is_invalid_value(self, scim: ScimClient, body):
        group = create_group(scim)

        response = scim.patch(f"/Groups/{group['id']}", body)

        assert response.status_code == 400
        assert response.json["scimType"] == "invalidValue"


class TestReplaceAndDelete:
    def test_put_replaces_name_and_members_and_ignores_id_and_meta(
        self, scim: ScimClient, ada: str, bob: str
    ):
        group = create_group(scim, "Engineering", ada)
        body = {
            **group,
            "id": "ignored",
            "meta": {"version": "ignored"},
            "displayName": "R&D",
            "members": members(bob),
        }

        response = scim.put(f"/Groups/{group['id']}", body)

        assert response.status_code == 200, response.text
        assert response.json["id"] == group["id"]
        assert response.json["displayName"] == "R&D"
        assert [member["value"] for member in response.json["members"]] == [bob]

    def test_the_display_an_idp_sends_is_kept_and_changing_it_is_not_a_roster_change(
        self, scim: ScimClient, database, ada: str
    ):
        group = create_group(scim, "Engineering")
        path = f"/Groups/{group['id']}"
        add = {"op": "add", "path": "members", "value": [{"value": ada, "display": "ada@x"}]}
        scim.patch(path, patch_op(add))
        assert scim.get(path).json["members"][0]["display"] == "ada@x"
        with database.writing() as session:
            session.execute(
                update(DirectoryGroup).values(applied_generation=DirectoryGroup.generation)
            )

        add["value"][0]["display"] = "Ada L."
        response = scim.patch(path, patch_op(add))

        assert response.status_code == 204
        assert scim.get(path).json["members"][0]["display"] == "Ada L."
        with database.reading() as session:
            row = session.get(DirectoryGroup, group["id"])
            assert row.generation == row.applied_generation

    def test_put_without_members_leaves_none(self, scim: ScimClient, ada: str):
        group = create_group(scim, "Engineering", ada)

        response = scim.put(f"/Groups/{group['id']}", okta_group("Engineering"))

        assert response.json["members"] == []

    def test_an_unchanged_put_keeps_the_version(self, scim: ScimClient, ada: str):
        group = create_group(scim, "Engineering", ada)

        response = scim.put(f"/Groups/{group['id']}", group)

        assert response.json["meta"]["version"] == group["meta"]["version"]

    @pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
    def test_a_stale_if_match_is_412_and_changes_nothing(self, scim: ScimClient, method: str):
        group = create_group(scim, "Engineering")
        bodies = {
            "PUT": okta_group("Renamed"),
            "PATCH": patch_op({"op": "replace", "path": "displayName", "value": "Renamed"}),
            "DELETE": None,
        }

        response = scim.request(
            method, f"/Groups/{group['id']}", bodies[method], headers={"If-Match": 'W/"99"'}
        )

        assert response.status_code == 412
        assert scim.get(f"/Groups/{group['id']}").json["displayName"] == "Engineering"

    def test_a_current_if_match_is_accepted(self, scim: ScimClient):
        group = create_group(scim, "Engineering")

        response = scim.patch(
            f"/Groups/{group['id']}",
            patch_op({"op": "replace", "path": "displayName", "value": "Renamed"}),
            headers={"If-Match": group["meta"]["version"]},
        )

        assert response.status_code == 204

    def test_delete_is_204_then_404_and_frees_the_name(self, scim: ScimClient, ada: str):
        group = create_group(scim, "Engineering", ada)

        assert scim.delete(f"/Groups/{group['id']}").status_code == 204

        assert scim.get(f"/Groups/{group['id']}").status_code == 404
        assert scim.delete(f"/Groups/{group['id']}").status_code == 404
        assert "groups" not in scim.get(f"/Users/{ada}").json
        assert scim.post("/Groups", okta_group("Engineering")).status_code == 201

    def test_a_deleted_user_is_no_longer_a_member(self, scim: ScimClient, ada: str, bob: str):
        group = create_group(scim, "Engineering", ada, bob)

        scim.delete(f"/Users/{ada}")

        assert member_ids(scim, group["id"]) == {bob}

    def test_a_token_only_reaches_its_own_organizations_groups(
        self, scim: ScimClient, database, app
    ):
        group = create_group(scim, "Engineering")
        other = OrganizationFixture.create(database, "globex", ["globex.com"])
        outsider = ScimClient(app, other.slug, other.token)

        assert outsider.get(f"/Groups/{group['id']}").status_code == 404
        assert outsider.get("/Groups").json["totalResults"] == 0
        assert outsider.delete(f"/Groups/{group['id']}").status_code == 404
