"""Operator tokens open the admin API and nothing else; SCIM tokens never open it."""

from __future__ import annotations

import falcon
import pytest

from models.core.db import Database
from models.tokens.operators import revoke_operator_token
from tests.support.admin import AdminClient, operator_token
from tests.support.scim import OrganizationFixture, ScimClient


class TestAdminNeedsAnOperatorToken:
    @pytest.mark.parametrize(
        "path", ["/orgs", "/orgs/acme", "/orgs/acme/members", "/orgs/acme/audit", "/orgs/nope"]
    )
    def test_without_a_token_every_admin_route_is_401(self, app: falcon.App, acme, path: str):
        response = falcon.testing.TestClient(app).simulate_get(f"/admin/v1{path}")

        assert response.status_code == 401
        assert response.headers["content-type"] == "application/json"
        assert response.json["status"] == 401
        assert "operator token (scimgate_op_...)" in response.json["detail"]
        assert response.headers["www-authenticate"] == 'Bearer realm="scimgate-admin"'

    def test_an_unknown_admin_path_is_404_with_or_without_a_token(
        self, app: falcon.App, admin: AdminClient
    ):
        anonymous = falcon.testing.TestClient(app).simulate_get("/admin/v1/no/such")

        assert anonymous.status_code == 404
        assert anonymous.json["status"] == 404
        assert admin.get("/no/such").status_code == 404

    def test_a_scim_token_does_not_open_the_admin_api(self, admin: AdminClient, acme):
        for method, path in [("GET", "/orgs"), ("GET", "/orgs/acme"), ("POST", "/orgs/acme/jit")]:
            response = admin.request(method, path, token=acme.token)
            assert response.status_code == 401, (method, path)

    def test_a_revoked_operator_token_stops_at_once(self, admin: AdminClient, database: Database):
        assert admin.get("/orgs").status_code == 200
        with database.writing() as session:
            revoke_operator_token(session, admin.token[len("scimgate_op_") :][:8])

        assert admin.get("/orgs").status_code == 401

    def test_a_made_up_token_with_the_right_marker_is_401(self, admin: AdminClient):
        assert admin.get("/orgs", token="scimgate_op_" + "A" * 43).status_code == 401


class TestScimNeedsAScimToken:
    def test_an_operator_token_is_never_a_scim_token(
        self, app: falcon.App, acme: OrganizationFixture, admin: AdminClient
    ):
        as_operator = ScimClient(app, "acme", admin.token)

        responses = [
            as_operator.get("/Users"),
            as_operator.post(
                "/Users",
                {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "eve@acme.com",
                },
            ),
        ]

        assert [r.status_code for r in responses] == [401, 401]
        assert ScimClient(app, "acme", acme.token).get("/Users").json["totalResults"] == 0


class TestCli:
    def test_operator_token_create_prints_a_working_token_once(self, cli, app: falcon.App):
        created = cli("operator", "token", "create", "okta-automation")

        line = created.stdout.strip()
        assert line.startswith("SCIMGATE_OPERATOR_TOKEN=scimgate_op_")
        assert "shown once" in created.stderr
        token = line.split("=", 1)[1]
        assert AdminClient(app, token).get("/orgs").status_code == 200

    def test_a_bad_operator_name_is_refused(self, cli):
        refused = cli("operator", "token", "create", "two words", expect=1)

        assert "operator name 'two words'" in refused.stderr


def test_admin_actions_name_the_operator_who_did_them(app: falcon.App, database: Database):
    bob = AdminClient(app, operator_token(database, "bob"))

    bob.post("/orgs", {"slug": "acme", "name": "Acme"})

    assert bob.get("/orgs/acme/audit").json["records"][0]["actor"] == "operator bob"
