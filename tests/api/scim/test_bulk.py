"""/Bulk: bulkId references, failOnErrors, limits, and a status for every operation."""

from __future__ import annotations

import json

import pytest

from models.roster.teams import teams_roster
from tests.support.scim import ScimClient, members, okta_group, okta_user, patch_op

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


def bulk(*operations: dict, fail_on_errors: int | None = None) -> dict:
    body: dict = {"schemas": [BULK_REQUEST], "Operations": list(operations)}
    if fail_on_errors is not None:
        body["failOnErrors"] = fail_on_errors
    return body


def post_user(bulk_id: str, email: str) -> dict:
    return {"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": okta_user(email)}


def statuses(response) -> list[str]:
    return [operation["status"] for operation in response.json["Operations"]]


class TestBulk:
    def test_a_user_created_and_added_to_a_group_in_one_request(self, scim: ScimClient):
        response = scim.post(
            "/Bulk",
            bulk(
                # The group refers to a user created later in the request: order is resolved.
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "g1",
                    "data": {**okta_group("Engineering"), "members": [{"value": "bulkId:u1"}]},
                },
                post_user("u1", "ada@example.com"),
            ),
        )

        assert response.status_code == 200, response.text
        assert response.json["schemas"] == [BULK_RESPONSE]
        user_op, group_op = response.json["Operations"]
        assert (user_op["bulkId"], user_op["status"]) == ("u1", "201")
        assert (group_op["bulkId"], group_op["status"]) == ("g1", "201")
        user_id = user_op["response"]["id"]
        assert user_op["location"] == f"https://scim.test/scim/v2/acme/Users/{user_id}"
        assert user_op["version"] == user_op["response"]["meta"]["version"]
        group = scim.get(group_op["location"].removeprefix("https://scim.test/scim/v2/acme")).json
        assert [member["value"] for member in group["members"]] == [user_id]

    def test_bulk_ids_in_paths_and_patch_values(self, scim: ScimClient):
        response = scim.post(
            "/Bulk",
            bulk(
                post_user("u1", "ada@example.com"),
                {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": okta_group("Eng")},
                {
                    "method": "PATCH",
                    "path": "/Groups/bulkId:g1",
                    "data": patch_op(
                        {"op": "add", "path": "members", "value": [{"value": "bulkId:u1"}]}
                    ),
                },
            ),
        )

        assert statuses(response) == ["201", "201", "204"]
        group_id = response.json["Operations"][1]["response"]["id"]
        assert response.json["Operations"][2]["location"].endswith(f"/Groups/{group_id}")
        assert len(scim.get(f"/Groups/{group_id}").json["members"]) == 1

    def test_each_operation_reports_its_own_error_and_the_rest_still_run(self, scim: ScimClient):
        response = scim.post(
            "/Bulk",
            bulk(
                post_user("u1", "ada@example.com"),
                post_user("u2", "ada@example.com"),
                {"method": "DELETE", "path": "/Users/0e0e0e0e-0000-0000-0000-000000000000"},
                post_user("u3", "bob@example.com"),
            ),
        )

        assert statuses(response) == ["201", "409", "404", "201"]
        conflict = response.json["Operations"][1]["response"]
        assert conflict["scimType"] == "uniqueness"
        assert conflict["status"] == "409"

    def test_fail_on_errors_stops_after_that_many_errors(self, scim: ScimClient):
        response = scim.post(
            "/Bulk",
            bulk(
                post_user("u1", "mallory@elsewhere.org"),
                post_user("u2", "eve@elsewhere.org"),
                post_user("u3", "ada@example.com"),
                fail_on_errors=2,
            ),
        )

        assert statuses(response) == ["400", "400"]
        assert scim.get("/Users").json["totalResults"] == 0

    def test_an_operation_referring_to_a_failed_one_fails_too(self, scim: ScimClient):
        response = scim.post(
            "/Bulk",
            bulk(
                post_user("u1", "mallory@elsewhere.org"),
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "g1",
                    "data": {**okta_group("Eng"), "members": [{"value": "bulkId:u1"}]},
                },
            ),
        )

        assert statuses(response) == ["400", "409"]
        assert scim.get("/Groups").json["totalResults"] == 0

    def test_circular_and_unknown_references_are_reported(self, scim: ScimClient):
        response = scim.post(
            "/Bulk",
            bulk(
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "a",
                    "data": {**okta_group("A"), "members": [{"value": "bulkId:b"}]},
                },
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "b",
                    "data": {**okta_group("B"), "members": [{"value": "bulkId:a"}]},
                },
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "c",
                    "data": {**okta_group("C"), "members": [{"value": "bulkId:nowhere"}]},
                },
            ),
        )

        by_id = {op["bulkId"]: op["status"] for op in response.json["Operations"]}
        assert by_id == {"a": "409", "b": "409", "c": "400"}

    def test_put_and_delete_with_version(self, scim: ScimClient):
        user = scim.post("/Users", okta_user("ada@example.com")).json
        stale = {**user, "nickName": "A"}

        response = scim.post(
            "/Bulk",
            bulk(
                {
                    "method": "PUT",
                    "path": f"/Users/{user['id']}",
                    "version": 'W/"9"',
                    "data": stale,
                },
                {
                    "method": "DELETE",
                    "path": f"/Users/{user['id']}",
                    "version": user["meta"]["version"],
                },
            ),
        )

        assert statuses(response) == ["412", "204"]
        assert scim.get(f"/Users/{user['id']}").status_code == 404

    @pytest.mark.parametrize("path", ["/Bulk", "/ServiceProviderConfig", "/Users/a/b", "Users"])
    def test_operations_only_reach_users_and_groups(self, scim: ScimClient, path: str):
        response = scim.post("/Bulk", bulk({"method": "PUT", "path": path, "data": {"x": 1}}))

        if path.startswith("/"):
            assert statuses(response) == ["400"]
            assert response.json["Operations"][0]["response"]["scimType"] == "invalidPath"
        else:
            assert response.status_code == 400

    @pytest.mark.parametrize(
        "path", ["/Users/a%2Fb", "/Users/%2e%2e", "/Users/€", "/Users/%E2%82%AC"]
    )
    def test_an_operation_path_is_checked_as_if_it_were_sent_alone(
        self, scim: ScimClient, path: str
    ):
        alone = scim.delete(path)

        response = scim.post("/Bulk", bulk({"method": "DELETE", "path": path}))

        assert alone.status_code == 404
        operation = response.json["Operations"][0]
        assert operation["status"] == "404"
        assert operation["response"]["detail"] == alone.json["detail"]

    @pytest.mark.parametrize(
        "body",
        [
            [],
            {"Operations": []},
            {"Operations": [{"method": "GET", "path": "/Users"}]},
            {"Operations": [{"method": "POST", "path": "/Users", "data": {}}]},
            {"Operations": [{"method": "PUT", "path": "/Users/x"}]},
            {"Operations": [post_user("u1", "a@example.com"), post_user("u1", "b@example.com")]},
            {"Operations": [post_user("u1", "a@example.com")], "failOnErrors": 0},
        ],
    )
    def test_a_malformed_bulk_request_is_400_and_runs_nothing(self, scim: ScimClient, body):
        response = scim.post("/Bulk", body)

        assert response.status_code == 400, response.text
        assert response.json["scimType"] in ("invalidValue", "invalidSyntax")
        assert scim.get("/Users").json["totalResults"] == 0

    def test_more_operations_than_max_operations_is_413_too_many(self, app_with, tenant):
        client = ScimClient(app_with(bulk_max_operations=2), tenant.slug, tenant.token)
        operations = [post_user(f"u{i}", f"user{i}@example.com") for i in range(3)]

        response = client.post("/Bulk", bulk(*operations))

        assert response.status_code == 413
        assert response.json["scimType"] == "tooMany"
        assert "2" in response.json["detail"]
        assert client.get("/Users").json["totalResults"] == 0

    def test_a_body_past_max_payload_size_is_413(self, app_with, tenant):
        client = ScimClient(app_with(max_body_bytes=2_000), tenant.slug, tenant.token)
        operations = [post_user(f"u{i}", f"user{i}@example.com") for i in range(5)]
        assert len(json.dumps(bulk(*operations))) > 2_000

        response = client.post("/Bulk", bulk(*operations))

        assert response.status_code == 413
        assert response.json["status"] == "413"

    def test_limits_are_advertised(self, scim: ScimClient, settings):
        config = scim.get("/ServiceProviderConfig").json

        assert config["bulk"] == {
            "supported": True,
            # A bulk request costs a token per operation: no more than the burst fits.
            "maxOperations": min(settings.bulk_max_operations, settings.rate_limit_burst),
            "maxPayloadSize": settings.max_body_bytes,
        }

    def test_bulk_needs_the_organizations_token(self, scim: ScimClient):
        response = scim.post("/Bulk", bulk(post_user("u1", "a@example.com")), token="wrong")

        assert response.status_code == 401

    def test_a_bulk_group_membership_reaches_the_roster(
        self, scim: ScimClient, database, tenant, drain
    ):
        scim.post(
            "/Bulk",
            bulk(
                post_user("u1", "ada@example.com"),
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "g1",
                    "data": {**okta_group("Engineering"), "members": members("bulkId:u1")},
                },
            ),
        )
        drain()

        with database.reading() as session:
            teams = teams_roster(session, tenant.id)
        assert [(team["name"], team["members"]) for team in teams] == [
            ("Engineering", ["ada@example.com"])
        ]


class TestBulkAndTheRateLimit:
    """A bulk request counts one request per operation, and is admitted or refused whole."""

    @pytest.fixture
    def client(self, app_with, tenant) -> ScimClient:
        # Five tokens, and none back within the test.
        app = app_with(rate_limit_burst=5, rate_limit_per_second=0.01)
        return ScimClient(app, tenant.slug, tenant.token)

    def test_a_bulk_as_large_as_the_burst_runs_every_operation(self, client: ScimClient):
        operations = [post_user(f"u{i}", f"user{i}@example.com") for i in range(5)]

        response = client.post("/Bulk", bulk(*operations))

        assert response.status_code == 200, response.text
        assert statuses(response) == ["201"] * 5

    def test_a_bulk_the_bucket_cannot_cover_is_429_and_runs_nothing(self, client: ScimClient):
        assert client.post("/Users", okta_user("first@example.com")).status_code == 201
        operations = [post_user(f"u{i}", f"user{i}@example.com") for i in range(5)]

        response = client.post("/Bulk", bulk(*operations))

        assert response.status_code == 429, response.text
        assert response.json["status"] == "429"
        assert "one per operation" in response.json["detail"]
        assert int(response.headers["Retry-After"]) >= 1
        # Only the bulk request's own token is spent: three are left for other requests.
        listings = [client.get("/Users") for _ in range(4)]
        assert [listing.status_code for listing in listings] == [200, 200, 200, 429]
        users = listings[0].json["Resources"]
        assert [user["userName"] for user in users] == ["first@example.com"]

    def test_more_operations_than_the_burst_is_413_too_many(self, client: ScimClient):
        assert client.get("/ServiceProviderConfig").json["bulk"]["maxOperations"] == 5
        operations = [post_user(f"u{i}", f"user{i}@example.com") for i in range(6)]

        response = client.post("/Bulk", bulk(*operations))

        assert response.status_code == 413
        assert response.json["scimType"] == "tooMany"
