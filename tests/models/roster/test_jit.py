"""Just-in-time provisioning, its rules, the settings behind them, and adoption by SCIM."""

from __future__ import annotations

from collections.abc import Callable

import falcon
import pytest

from models.core.db import Database
from models.events.log import events_after
from tests.support.admin import AdminClient
from tests.support.saml import idp_metadata
from tests.support.scim import ScimClient, okta_user, patch_op

REASON = "verified out of band by the support team"


@pytest.fixture
def acme(admin: AdminClient) -> str:
    """An organization with a verified domain and an SSO connection; SCIM off, JIT on."""
    created = admin.post(
        "/orgs", {"slug": "acme", "name": "Acme", "verified_domains": ["acme.com"]}
    )
    assert created.status_code == 201
    assert admin.put("/orgs/acme/sso", {"metadata_xml": idp_metadata()}).status_code == 200
    return "acme"


def login(admin: AdminClient, email: str = "ada@acme.com", **names) -> falcon.testing.Result:
    body = {"email": email, "given_name": "Ada", "family_name": "Lovelace", **names}
    return admin.post("/orgs/acme/jit", body)


def members(admin: AdminClient) -> list[dict]:
    return admin.get("/orgs/acme/members").json["members"]


def events(database: Database) -> list[tuple[str, dict]]:
    with database.reading() as session:
        return [(event.type, event.data) for event in events_after(session, 1)]


class TestJit:
    def test_a_verified_login_creates_an_active_member_with_a_jit_event(
        self, admin: AdminClient, acme: str, database: Database
    ):
        response = login(admin, "Ada@ACME.com")

        assert response.status_code == 201
        assert response.json == {
            "outcome": "created",
            "email": "ada@acme.com",
            "status": "active",
            "role": "member",
            "source": "jit",
            "display_name": "Ada Lovelace",
        }
        assert members(admin) == [
            {
                "email": "ada@acme.com",
                "status": "active",
                "status_reason": None,
                "role": "member",
                "display_name": "Ada Lovelace",
                "source": "jit",
            }
        ]
        assert events(database) == [
            (
                "member.added",
                {
                    "email": "ada@acme.com",
                    "status": "active",
                    "role": "member",
                    "display_name": "Ada Lovelace",
                    "user_id": None,
                    "external_id": None,
                    "source": "jit",
                },
            )
        ]

    def test_a_second_login_links_the_existing_member_and_changes_nothing(
        self, admin: AdminClient, acme: str, database: Database
    ):
        login(admin)

        again = login(admin, display_name="Someone Else")

        assert again.status_code == 200
        assert again.json["outcome"] == "existing"
        assert again.json["display_name"] == "Ada Lovelace"
        assert len(events(database)) == 1

    def test_an_address_outside_the_verified_domains_is_refused_naming_the_domain(
        self, admin: AdminClient, acme: str
    ):
        admin.post("/orgs/acme/domains", {"name": "pending.org"})

        foreign = login(admin, "mallory@elsewhere.org")
        pending = login(admin, "ada@pending.org")

        assert foreign.status_code == 400
        assert foreign.json["detail"] == (
            "'mallory@elsewhere.org' is not in a verified domain of 'acme' "
            "('elsewhere.org' is not verified)"
        )
        assert pending.status_code == 400
        assert members(admin) == []

    @pytest.mark.parametrize(
        "email",
        # The last two passed JIT's own check once, while SCIM refused them as User emails.
        ["", "ada", "ada@", "@acme.com", "a b@acme.com", "ada@@acme.com", "ada..l@acme.com"],
    )
    def test_a_malformed_email_is_refused(self, admin: AdminClient, acme: str, email: str):
        assert login(admin, email).status_code == 400
        assert members(admin) == []

    def test_jit_off_is_refused(self, admin: AdminClient, acme: str):
        admin.patch("/orgs/acme/settings", {"jit_enabled": False})

        response = login(admin)

        assert response.status_code == 409
        assert response.json["detail"] == "JIT provisioning is off for 'acme'"

    def test_without_an_sso_connection_there_is_nothing_to_sign_in_through(
        self, admin: AdminClient, acme: str
    ):
        admin.delete("/orgs/acme/sso")

        response = login(admin)

        assert response.status_code == 409
        assert response.json["detail"] == "'acme' has no SSO connection to sign in through"

    def test_with_scim_on_jit_needs_the_alongside_setting(self, admin: AdminClient, acme: str):
        admin.post("/orgs/acme/scim/enable")

        refused = login(admin)
        admin.patch("/orgs/acme/settings", {"jit_with_scim": True})
        allowed = login(admin)

        assert refused.status_code == 409
        assert "JIT alongside SCIM is off" in refused.json["detail"]
        assert allowed.status_code == 201

    def test_the_seat_limit_stops_new_members_but_not_existing_ones(
        self, admin: AdminClient, acme: str
    ):
        admin.patch("/orgs/acme/settings", {"seat_limit": 1})
        assert login(admin).status_code == 201

        full = login(admin, "bob@acme.com")
        existing = login(admin)

        assert full.status_code == 409
        assert full.json["detail"] == "every seat is taken (1 of 1)"
        assert existing.status_code == 200


class TestAdoptionBySCIM:
    def test_a_jit_member_pushed_by_the_idp_is_adopted_not_duplicated_and_the_idp_wins(
        self, admin: AdminClient, acme: str, app: falcon.App, database: Database, drain
    ):
        # Given a member who arrived by JIT before SCIM was on
        login(admin)
        # When SCIM is enabled and the IdP pushes the same person with its own values
        token = admin.post("/orgs/acme/scim/enable").json["token"]
        idp = ScimClient(app, "acme", token)
        pushed = idp.post("/Users", okta_user("ADA@acme.com", "Augusta", "King"))
        assert pushed.status_code == 201
        drain()

        # Then there is still one member, now managed by SCIM with the IdP's values
        assert members(admin) == [
            {
                "email": "ada@acme.com",
                "status": "active",
                "status_reason": None,
                "role": "member",
                "display_name": "Augusta King",
                "source": "scim",
            }
        ]
        kinds = [kind for kind, _ in events(database)]
        assert kinds == ["member.added", "member.updated"]
        assert events(database)[1][1]["changes"] == {
            "display_name": ["Ada Lovelace", "Augusta King"]
        }

        # And from now on the IdP decides: it deactivates, and JIT cannot bring her back.
        idp.patch(
            f"/Users/{pushed.json['id']}", patch_op({"op": "replace", "value": {"active": False}})
        )
        drain()
        admin.patch("/orgs/acme/settings", {"jit_with_scim": True})
        comeback = login(admin)
        assert members(admin)[0]["status"] == "deactivated"
        assert comeback.status_code == 409
        assert "JIT does not reactivate members" in comeback.json["detail"]


class TestSettings:
    def test_settings_change_and_are_audited_with_old_and_new_values(
        self, admin: AdminClient, acme: str
    ):
        assert admin.get("/orgs/acme/settings").json == {
            "jit_enabled": True,
            "jit_with_scim": False,
            "seat_limit": None,
        }

        changed = admin.patch("/orgs/acme/settings", {"jit_enabled": False, "seat_limit": 25})
        cleared = admin.patch("/orgs/acme/settings", {"seat_limit": None})

        assert changed.json == {"jit_enabled": False, "jit_with_scim": False, "seat_limit": 25}
        assert cleared.json["seat_limit"] is None
        records = admin.get("/orgs/acme/audit").json["records"]
        updates = [r["details"] for r in records if r["action"] == "settings.updated"]
        assert updates == [
            {"jit_enabled": [True, False], "seat_limit": [None, 25]},
            {"seat_limit": [25, None]},
        ]

    @pytest.mark.parametrize(
        "body",
        [
            {"jit_enabled": "yes"},
            {"seat_limit": "10"},
            {"seat_limit": True},
            {"seat_limit": -1},
            {"colour": "blue"},
        ],
    )
    def test_wrong_types_and_unknown_settings_are_400(
        self, admin: AdminClient, acme: str, body: dict
    ):
        assert admin.patch("/orgs/acme/settings", body).status_code == 400
        assert admin.get("/orgs/acme/settings").json["seat_limit"] is None


class TestCli:
    def test_settings_and_jit_through_the_cli(self, cli, admin: AdminClient, acme: str):
        cli("org", "set", "acme", "--jit", "off", "--seat-limit", "5")
        refused = cli("jit", "acme", "ada@acme.com", expect=1)
        cli("org", "set", "acme", "--jit", "on", "--seat-limit", "none")
        joined = cli("jit", "acme", "ada@acme.com", "--given-name", "Ada").stdout

        assert refused.stderr == "scimgate: JIT provisioning is off for 'acme'\n"
        assert joined == "ada@acme.com: created (active, source jit)\n"
        assert "seat limit: none" in cli("org", "show", "acme").stdout
        assert "ada@acme.com" in cli("roster", "acme").stdout
        bad = cli("org", "set", "acme", "--seat-limit", "bad", expect=1)
        assert "--seat-limit takes a number of seats up to 1000000000 or 'none'" in bad.stderr


def test_status_counts_members_and_pending_changes(
    admin: AdminClient, acme: str, app: falcon.App, drain: Callable[[], None]
):
    login(admin)
    idp = ScimClient(app, "acme", admin.post("/orgs/acme/scim/enable").json["token"])
    idp.post("/Users", okta_user("bob@acme.com", "Bob", "Byron"))

    drain()

    status = admin.get("/orgs/acme/status").json
    assert (status["scim_enabled"], status["pending_changes"]) == (True, 0)
    assert status["members"] == {"active": 2, "deactivated": 0, "removed": 0, "pending_seat": 0}
    assert status["last_reconciled_at"] is not None


def test_status_shows_changes_the_worker_has_not_applied_yet(
    admin: AdminClient, acme: str, app: falcon.App
):
    # No worker runs in this test: what the IdP sent waits in the directory.
    idp = ScimClient(app, "acme", admin.post("/orgs/acme/scim/enable").json["token"])
    idp.post("/Users", okta_user("bob@acme.com", "Bob", "Byron"))
    idp.post("/Users", okta_user("cyd@acme.com", "Cyd", "Charisse"))

    status = admin.get("/orgs/acme/status").json

    assert status["pending_changes"] == 2
    assert status["members"]["active"] == 0
