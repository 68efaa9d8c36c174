"""/Users through the Falcon app, against a real database and Redis (SQLite and PostgreSQL)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.support.scim import ScimClient, okta_user, patch_op, user_filter


def create(scim: ScimClient, email: str = "ada@example.com", **extra) -> dict:
    response = scim.post("/Users", okta_user(email, **extra))
    assert response.status_code == 201, response.text
    return response.json


class TestCreate:
    def test_okta_create_returns_the_user_with_id_meta_and_location(self, scim: ScimClient):
        response = scim.post("/Users", okta_user("ada@example.com"))

        assert response.status_code == 201
        user = response.json
        assert response.headers["content-type"].startswith("application/scim+json")
        assert user["userName"] == "ada@example.com"
        assert user["active"] is True
        assert user["meta"]["resourceType"] == "User"
        assert user["meta"]["location"] == f"https://scim.test/scim/v2/acme/Users/{user['id']}"
        assert response.headers["location"] == user["meta"]["location"]
        assert response.headers["etag"] == user["meta"]["version"]
        assert "password" not in user
        assert "groups" not in user

    def test_unknown_attributes_from_an_idp_mapping_are_ignored(self, scim: ScimClient):
        body = okta_user("ada@example.com", costCenter="42", nickname_custom="x")
        body["name"]["unmapped"] = "y"

        user = scim.post("/Users", body).json

        assert "costCenter" not in user
        assert user["name"] == {"givenName": "Ada", "familyName": "Lovelace"}

    @pytest.mark.parametrize("second", ["ada@example.com", "ADA@Example.COM"])
    def test_a_second_user_with_the_same_user_name_in_any_case_is_a_conflict(
        self, scim: ScimClient, second: str
    ):
        create(scim, "ada@example.com")

        response = scim.post("/Users", okta_user(second))

        assert response.status_code == 409
        assert response.json["scimType"] == "uniqueness"
        assert response.json["status"] == "409"

    def test_a_user_outside_the_verified_domains_is_refused_naming_the_domain(
        self, scim: ScimClient
    ):
        response = scim.post("/Users", okta_user("mallory@elsewhere.org"))

        assert response.status_code == 400
        assert response.json["scimType"] == "invalidValue"
        assert "elsewhere.org" in response.json["detail"]

    def test_a_missing_user_name_is_invalid_value(self, scim: ScimClient):
        body = okta_user("ada@example.com")
        del body["userName"]

        response = scim.post("/Users", body)

        assert response.status_code == 400
        assert response.json["scimType"] == "invalidValue"
        assert "userName" in response.json["detail"]

    @pytest.mark.parametrize(
        "raw, scim_type",
        [(b"{not json", "invalidSyntax"), (b"", "invalidSyntax"), (b"[1, 2]", "invalidValue")],
    )
    def test_malformed_bodies_are_400_with_a_scim_error(
        self, scim: ScimClient, raw: bytes, scim_type: str
    ):
        response = scim.request(
            "POST", "/Users", body=raw, headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 400
        assert response.json["scimType"] == scim_type
        assert "Traceback" not in response.text

    @pytest.mark.parametrize("attribute", ["displayName", "externalId"])
    def test_a_name_longer_than_it_can_be_stored_is_invalid_value(
        self, scim: ScimClient, attribute: str
    ):
        created = create(scim)
        too_long = "x" * 256

        refusals = [
            scim.post("/Users", okta_user("grace@example.com", **{attribute: too_long})),
            scim.put(
                f"/Users/{created['id']}", okta_user("ada@example.com", **{attribute: too_long})
            ),
            scim.patch(
                f"/Users/{created['id']}",
                patch_op({"op": "replace", "path": attribute, "value": too_long}),
            ),
        ]

        for refused in refusals:
            assert refused.status_code == 400, refused.text
            assert refused.json["scimType"] == "invalidValue"
            assert f"{attribute} is longer than 255 characters" in refused.json["detail"]
        assert scim.get(f"/Users/{created['id']}").json.get(attribute) != too_long
        fits = scim.post("/Users", okta_user("grace@example.com", **{attribute: "x" * 255}))
        assert fits.status_code == 201, fits.text

    def test_another_media_type_is_415(self, scim: ScimClient):
        response = scim.request(
            "POST",
            "/Users",
            body=b"userName=ada",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

        assert response.status_code == 415
        assert response.json["status"] == "415"


class TestRead:
    def test_okta_test_connection_gets_an_integer_list_response(self, scim: ScimClient):
        response = scim.get("/Users", params={"startIndex": "1", "count": "2"})

        assert response.status_code == 200
        assert response.json == {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0,
            "startIndex": 1,
            "itemsPerPage": 0,
            "Resources": [],
        }

    def test_user_name_filter_matches_in_any_case(self, scim: ScimClient):
        created = create(scim, "ada@example.com")
        create(scim, "grace@example.com")

        response = scim.get(
            "/Users", query_string="filter=" + quote(user_filter("ADA@example.com"))
        )

        assert response.json["totalResults"] == 1
        assert response.json["itemsPerPage"] == 1
        assert response.json["Resources"][0]["id"] == created["id"]

    def test_external_id_filter_as_entra_sends_it(self, scim: ScimClient):
        created = create(scim, "ada@example.com")

        response = scim.get("/Users", params={"filter": f'externalId eq "{created["externalId"]}"'})

        assert [user["id"] for user in response.json["Resources"]] == [created["id"]]

    def test_pages_are_stable_and_item_count_matches_resources(self, scim: ScimClient):
        emails = [f"user{i:02d}@example.com" for i in range(7)]
        for email in emails:
            create(scim, email)

        seen = []
        for start in (1, 4, 7):
            page = scim.get("/Users", params={"startIndex": str(start), "count": "3"}).json
            assert page["totalResults"] == 7
            assert page["startIndex"] == start
            assert page["itemsPerPage"] == len(page["Resources"])
            seen += [user["userName"] for user in page["Resources"]]

        assert seen == emails

    def test_an_unknown_id_is_404(self, scim: ScimClient):
        response = scim.get("/Users/00000000-0000-0000-0000-000000000000")

        assert response.status_code == 404
        assert response.json["status"] == "404"

    def test_an_unsupported_filter_is_invalid_filter_not_a_wider_result(self, scim: ScimClient):
        create(scim)

        response = scim.get("/Users", params={"filter": 'userName eq "ada@example.com" and'})

        assert response.status_code == 400
        assert response.json["scimType"] == "invalidFilter"

    def test_if_none_match_with_the_current_version_is_304(self, scim: ScimClient):
        user = create(scim)

        response = scim.get(
            f"/Users/{user['id']}", headers={"If-None-Match": user["meta"]["version"]}
        )

        assert response.status_code == 304


class TestUpdate:
    def test_okta_put_of_the_whole_object_updates_the_profile(self, scim: ScimClient):
        user = create(scim)
        user["name"]["givenName"] = "Augusta"

        response = scim.put(f"/Users/{user['id']}", user)

        assert response.status_code == 200
        assert response.json["name"]["givenName"] == "Augusta"
        assert response.json["id"] == user["id"]
        assert response.json["meta"]["version"] != user["meta"]["version"]

    def test_an_unchanged_put_changes_nothing_not_even_the_version(self, scim: ScimClient):
        user = create(scim)

        response = scim.put(f"/Users/{user['id']}", user)

        assert response.json["meta"] == user["meta"]

    def test_put_cannot_take_a_user_name_already_in_use(self, scim: ScimClient):
        create(scim, "ada@example.com")
        grace = create(scim, "grace@example.com")
        grace["userName"] = "Ada@example.com"

        response = scim.put(f"/Users/{grace['id']}", grace)

        assert response.status_code == 409
        assert response.json["scimType"] == "uniqueness"

    def test_okta_pathless_patch_deactivates(self, scim: ScimClient):
        user = create(scim)

        response = scim.patch(
            f"/Users/{user['id']}", patch_op({"op": "replace", "value": {"active": False}})
        )

        assert response.status_code == 200
        assert response.json["active"] is False
        assert scim.get(f"/Users/{user['id']}").json["active"] is False

    def test_patch_with_a_path_replaces_a_simple_attribute(self, scim: ScimClient):
        user = create(scim)

        response = scim.patch(
            f"/Users/{user['id']}",
            patch_op({"op": "Replace", "path": "name.givenName", "value": "Augusta"}),
        )

        assert response.json["name"]["givenName"] == "Augusta"

    def test_a_stale_if_match_is_412_and_changes_nothing(self, scim: ScimClient):
        user = create(scim)
        stale = user["meta"]["version"]
        scim.patch(f"/Users/{user['id']}", patch_op({"op": "replace", "value": {"active": False}}))

        response = scim.patch(
            f"/Users/{user['id']}",
            patch_op({"op": "replace", "value": {"active": True}}),
            headers={"If-Match": stale},
        )

        assert response.status_code == 412
        assert scim.get(f"/Users/{user['id']}").json["active"] is False

    def test_delete_hides_the_user_and_frees_the_user_name(self, scim: ScimClient):
        user = create(scim)

        assert scim.delete(f"/Users/{user['id']}").status_code == 204
        assert scim.get(f"/Users/{user['id']}").status_code == 404
        assert scim.get("/Users").json["totalResults"] == 0
        assert scim.post("/Users", okta_user("ada@example.com")).status_code == 201


class TestAuthentication:
    def test_a_bad_token_is_401_with_a_scim_error_and_challenge(self, scim: ScimClient):
        response = scim.get("/Users", token="scimgate_not-a-real-token")

        assert response.status_code == 401
        assert response.json["status"] == "401"
        assert response.headers["www-authenticate"].startswith("Bearer")

    def test_no_token_is_401(self, scim: ScimClient):
        response = scim.request("GET", "/Users", headers={"Authorization": ""})

        assert response.status_code == 401

    def test_a_token_only_opens_its_own_organization(self, scim: ScimClient, database, app):
        from tests.support.scim import OrganizationFixture

        other = OrganizationFixture.create(database, "globex", ["globex.com"])
        create(scim)

        response = ScimClient(app, "acme", other.token).get("/Users")

        assert response.status_code == 401


class TestDiscovery:
    def test_service_provider_config_tells_what_is_supported(self, scim: ScimClient):
        config = scim.get("/ServiceProviderConfig").json

        assert config["patch"]["supported"] is True
        assert config["etag"]["supported"] is True
        assert config["filter"]["supported"] is True
        assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"

    def test_resource_types_and_schemas_describe_users_and_groups(self, scim: ScimClient):
        types = scim.get("/ResourceTypes").json
        schemas = scim.get("/Schemas").json

        assert [t["id"] for t in types["Resources"]] == ["User", "Group"]
        assert scim.get("/ResourceTypes/Group").json["endpoint"] == "/Groups"
        ids = {schema["id"] for schema in schemas["Resources"]}
        assert "urn:ietf:params:scim:schemas:core:2.0:User" in ids
        assert "urn:ietf:params:scim:schemas:core:2.0:Group" in ids
        assert "urn:ietf:params:scim:schemas:extension:scimgate:2.0:User" in ids
        assert scim.get("/Schemas/nope").status_code == 404
