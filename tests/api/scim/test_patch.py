"""PATCH on /Users: every path form, add/replace/remove, atomicity, and what Okta and Entra send."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.scim import SCIMGATE_USER_SCHEMA, ScimClient, okta_user, patch_op

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
def user(scim: ScimClient) -> dict:
    body = okta_user("ada@example.com")
    body["emails"].append({"value": "ada@home.example.com", "type": "home"})
    body["title"] = "Engineer"
    response = scim.post("/Users", body)
    assert response.status_code == 201, response.text
    return response.json


def patch(scim: ScimClient, user: dict, *operations: dict[str, Any]) -> Any:
    return scim.patch(f"/Users/{user['id']}", patch_op(*operations))


def patched(scim: ScimClient, user: dict, *operations: dict[str, Any]) -> dict:
    response = patch(scim, user, *operations)
    assert response.status_code == 200, response.text
    # What PATCH answers is what a later GET reads.
    assert scim.get(f"/Users/{user['id']}").json == response.json
    return response.json


def email(user: dict, kind: str) -> str | None:
    return next((e["value"] for e in user.get("emails", []) if e.get("type") == kind), None)


class TestPaths:
    def test_simple_attribute(self, scim: ScimClient, user: dict):
        result = patched(scim, user, {"op": "replace", "path": "displayName", "value": "A. L."})
        assert result["displayName"] == "A. L."

    def test_sub_attribute(self, scim: ScimClient, user: dict):
        result = patched(
            scim, user, {"op": "replace", "path": "name.givenName", "value": "Augusta"}
        )
        assert result["name"] == {"givenName": "Augusta", "familyName": "Lovelace"}

    def test_filtered_multi_valued_sub_attribute(self, scim: ScimClient, user: dict):
        result = patched(
            scim,
            user,
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "ada@example.com"},
            {
                "op": "replace",
                "path": 'emails[type eq "home"].value',
                "value": "a@home.example.com",
            },
        )
        assert email(result, "home") == "a@home.example.com"
        assert email(result, "work") == "ada@example.com"

    def test_urn_qualified_extension_attribute(self, scim: ScimClient, user: dict):
        result = patched(
            scim, user, {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Research"}
        )
        assert result[ENTERPRISE] == {"department": "Research"}
        assert ENTERPRISE in result["schemas"]

    def test_urn_qualified_core_attribute(self, scim: ScimClient, user: dict):
        result = patched(
            scim,
            user,
            {
                "op": "replace",
                "path": "urn:ietf:params:scim:schemas:core:2.0:User:nickName",
                "value": "Ada",
            },
        )
        assert result["nickName"] == "Ada"

    def test_attribute_names_in_any_case(self, scim: ScimClient, user: dict):
        result = patched(scim, user, {"op": "replace", "path": "DisplayName", "value": "X"})
        assert result["displayName"] == "X"


class TestSemantics:
    def test_add_to_a_multi_valued_attribute_appends(self, scim: ScimClient, user: dict):
        result = patched(
            scim,
            user,
            {"op": "add", "path": "phoneNumbers", "value": [{"value": "+1 555", "type": "work"}]},
        )
        assert result["phoneNumbers"] == [{"value": "+1 555", "type": "work"}]
        assert len(result["emails"]) == 2

    def test_replace_a_multi_valued_attribute_replaces_it_whole(self, scim: ScimClient, user: dict):
        result = patched(
            scim,
            user,
            {
                "op": "replace",
                "path": "emails",
                "value": [{"value": "ada@example.com", "type": "work", "primary": True}],
            },
        )
        assert [e["type"] for e in result["emails"]] == ["work"]

    def test_remove_a_simple_attribute(self, scim: ScimClient, user: dict):
        result = patched(scim, user, {"op": "remove", "path": "title"})
        assert "title" not in result

    def test_remove_values_by_filter(self, scim: ScimClient, user: dict):
        result = patched(scim, user, {"op": "remove", "path": 'emails[type eq "home"]'})
        assert [e["type"] for e in result["emails"]] == ["work"]

    def test_remove_of_an_absent_attribute_succeeds(self, scim: ScimClient, user: dict):
        response = patch(scim, user, {"op": "remove", "path": "nickName"})
        assert response.status_code == 200
        assert response.json["meta"]["version"] == user["meta"]["version"]

    def test_okta_pathless_value_object(self, scim: ScimClient, user: dict):
        result = patched(
            scim, user, {"op": "replace", "value": {"active": False, "displayName": "Gone"}}
        )
        assert (result["active"], result["displayName"]) == (False, "Gone")

    def test_pathless_value_with_the_resources_own_id_and_meta(self, scim: ScimClient, user: dict):
        result = patched(
            scim,
            user,
            {
                "op": "replace",
                "value": {"id": user["id"], "meta": user["meta"], "nickName": "Ada"},
            },
        )
        assert result["nickName"] == "Ada"
        assert result["id"] == user["id"]

    def test_unknown_attributes_of_an_idp_mapping_are_ignored(self, scim: ScimClient, user: dict):
        result = patched(
            scim,
            user,
            {"op": "replace", "value": {"costCenterCustom": "42", "nickName": "Ada"}},
            {
                "op": "add",
                "path": "urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge",
                "value": "7",
            },
        )
        assert result["nickName"] == "Ada"
        assert "costCenterCustom" not in result

    def test_an_operation_set_that_only_touches_unknown_schemas_changes_nothing(
        self, scim: ScimClient, user: dict
    ):
        response = patch(
            scim,
            user,
            {
                "op": "add",
                "path": "urn:ietf:params:scim:schemas:extension:acme:2.0:User:x",
                "value": 1,
            },
        )
        assert response.status_code == 200
        assert response.json["meta"]["version"] == user["meta"]["version"]

    def test_role_and_team_through_our_extension(self, scim: ScimClient, user: dict):
        result = patched(
            scim,
            user,
            {"op": "add", "path": f"{SCIMGATE_USER_SCHEMA}:role", "value": "editor"},
            {"op": "add", "path": f"{SCIMGATE_USER_SCHEMA}:team", "value": "Research"},
        )
        assert result[SCIMGATE_USER_SCHEMA] == {"role": "editor", "team": "Research"}


class TestEntra:
    @pytest.mark.parametrize("raw, expected", [("False", False), ("True", True), ("false", False)])
    def test_booleans_as_strings(self, scim: ScimClient, user: dict, raw: str, expected: bool):
        result = patched(scim, user, {"op": "Replace", "path": "active", "value": raw})
        assert result["active"] is expected

    def test_capitalised_ops(self, scim: ScimClient, user: dict):
        result = patched(
            scim,
            user,
            {"op": "Replace", "path": "displayName", "value": "D"},
            {"op": "Add", "path": "nickName", "value": "N"},
            {"op": "Remove", "path": "title"},
        )
        assert (result["displayName"], result["nickName"], "title" in result) == ("D", "N", False)

    def test_pathless_value_with_dotted_keys(self, scim: ScimClient, user: dict):
        result = patched(
            scim,
            user,
            {
                "op": "replace",
                "value": {"displayName": "D", "name.givenName": "G", "name.familyName": "F"},
            },
        )
        assert result["name"] == {"givenName": "G", "familyName": "F"}
        assert result["displayName"] == "D"

    def test_manager_as_a_bare_string(self, scim: ScimClient, user: dict):
        result = patched(scim, user, {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "u9"})
        assert result[ENTERPRISE]["manager"] == {"value": "u9"}

    def test_manager_as_a_bare_string_in_a_create(self, scim: ScimClient):
        body = okta_user("bob@example.com")
        body["schemas"].append(ENTERPRISE)
        body[ENTERPRISE] = {"manager": "u9", "department": "R&D"}

        response = scim.post("/Users", body)

        assert response.status_code == 201, response.text
        assert response.json[ENTERPRISE]["manager"] == {"value": "u9"}

    def test_remove_with_a_value_list(self, scim: ScimClient, user: dict):
        result = patched(
            scim,
            user,
            {"op": "Remove", "path": "emails", "value": [{"value": "ada@home.example.com"}]},
        )
        assert [e["type"] for e in result["emails"]] == ["work"]

    def test_add_through_a_filter_that_matches_nothing_creates_the_value(
        self, scim: ScimClient, user: dict
    ):
        result = patched(
            scim,
            user,
            {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+44 1"},
        )
        assert result["phoneNumbers"] == [{"type": "mobile", "value": "+44 1"}]


class TestErrors:
    @pytest.mark.parametrize(
        "operation, scim_type",
        [
            ({"op": "replace", "path": "id", "value": "x"}, "mutability"),
            ({"op": "replace", "value": {"id": "someone-else"}}, "mutability"),
            ({"op": "replace", "path": "meta.created", "value": "2020-01-01"}, "mutability"),
            ({"op": "remove", "path": "userName"}, "mutability"),
            ({"op": "replace", "path": "userName", "value": None}, "mutability"),
            ({"op": "replace", "path": "nosuchAttribute", "value": "x"}, "invalidPath"),
            ({"op": "replace", "path": 'emails[type eq "work"', "value": "x"}, "invalidPath"),
            (
                {"op": "replace", "path": 'emails[value co "nowhere"].value', "value": "x"},
                "noTarget",
            ),
            ({"op": "remove"}, "noTarget"),
            ({"op": "bogus", "path": "title", "value": "x"}, "invalidValue"),
            ({"op": "replace", "path": "active", "value": "maybe"}, "invalidValue"),
            ({"op": "add", "path": "emails", "value": "not-a-list"}, "invalidValue"),
            ({"op": "add", "path": "title"}, "invalidValue"),
            (
                {"op": "replace", "path": f"{SCIMGATE_USER_SCHEMA}:role", "value": "king"},
                "invalidValue",
            ),
            ({"op": "replace", "path": "userName", "value": "eve@elsewhere.org"}, "invalidValue"),
        ],
    )
    def test_a_bad_operation_fails_the_whole_patch_with_its_scim_type(
        self, scim: ScimClient, user: dict, operation: dict, scim_type: str
    ):
        response = patch(
            scim, user, {"op": "replace", "path": "displayName", "value": "Changed"}, operation
        )

        assert response.status_code == 400, response.text
        assert response.json["scimType"] == scim_type, response.json
        assert response.json["status"] == "400"
        # All operations or none: the good first one did not land.
        assert scim.get(f"/Users/{user['id']}").json == user

    @pytest.mark.parametrize(
        "body, scim_type",
        [
            ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}, "invalidValue"),
            ({"Operations": []}, "invalidValue"),
            ({"Operations": "replace"}, "invalidValue"),
            ({"Operations": [42]}, "invalidValue"),
            ([{"op": "replace"}], "invalidValue"),
        ],
    )
    def test_a_body_that_is_not_a_patch_op(
        self, scim: ScimClient, user: dict, body: Any, scim_type: str
    ):
        response = scim.patch(f"/Users/{user['id']}", body)

        assert response.status_code == 400, response.text
        assert response.json["scimType"] == scim_type

    def test_malformed_json_is_invalid_syntax(self, scim: ScimClient, user: dict):
        response = scim.patch(f"/Users/{user['id']}", b'{"Operations": [')

        assert response.status_code == 400
        assert response.json["scimType"] == "invalidSyntax"

    def test_patch_of_an_unknown_user_is_404(self, scim: ScimClient):
        response = scim.patch(
            "/Users/0e0e0e0e-0000-0000-0000-000000000000",
            patch_op({"op": "replace", "path": "title", "value": "x"}),
        )

        assert response.status_code == 404
