"""SCIM on and off as an admin lives it: the lock, tokens, rotation, expiry, disable, re-enable."""

from __future__ import annotations

import time
from collections.abc import Callable

import falcon
import pytest
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import event, select, update

from api.authentication import EPOCH_KEY
from models.core.base import utcnow
from models.core.db import Database
from models.tokens.tables import ScimToken
from tests.support.admin import AdminClient
from tests.support.saml import idp_metadata
from tests.support.scim import ScimClient, okta_user, patch_op

REASON = "verified out of band by the support team"


def ready(admin: AdminClient, slug: str = "acme", domain: str = "acme.com") -> None:
    """An organization with a verified domain and an SSO connection: SCIM may be enabled."""
    assert admin.post("/orgs", {"slug": slug, "name": slug.title()}).status_code == 201
    verify = {"force": True, "reason": REASON}
    admin.post(f"/orgs/{slug}/domains", {"name": domain})
    assert admin.post(f"/orgs/{slug}/domains/{domain}/verify", verify).status_code == 200
    assert admin.put(f"/orgs/{slug}/sso", {"metadata_xml": idp_metadata()}).status_code == 200


def enable(admin: AdminClient, slug: str = "acme", **body) -> dict:
    response = admin.post(f"/orgs/{slug}/scim/enable", body)
    assert response.status_code == 200, response.text
    return response.json


def scim_as(app: falcon.App, token: str, slug: str = "acme") -> ScimClient:
    return ScimClient(app, slug, token)


def works(scim: ScimClient) -> bool:
    status = scim.get("/Users?count=1").status_code
    assert status in (200, 401), status
    return status == 200


def roster(admin: AdminClient) -> list[dict]:
    return admin.get("/orgs/acme/members").json["members"]


class TestTheLock:
    def test_enable_is_refused_without_an_sso_connection_or_a_verified_domain(
        self, admin: AdminClient
    ):
        admin.post("/orgs", {"slug": "acme", "name": "Acme"})

        neither = admin.post("/orgs/acme/scim/enable")
        admin.post("/orgs/acme/domains", {"name": "acme.com"})  # pending does not count
        still_neither = admin.post("/orgs/acme/scim/enable")
        admin.put("/orgs/acme/sso", {"metadata_xml": idp_metadata()})
        no_domain = admin.post("/orgs/acme/scim/enable")

        assert neither.status_code == 409
        assert neither.json["detail"] == (
            "SCIM stays locked for 'acme' until it has an SSO connection and a verified domain"
        )
        assert still_neither.json["detail"] == neither.json["detail"]
        assert no_domain.status_code == 409
        assert no_domain.json["detail"] == (
            "SCIM stays locked for 'acme' until it has a verified domain"
        )
        assert admin.get("/orgs/acme/scim").json["missing_for_enable"] == ["a verified domain"]

    def test_enable_is_refused_with_a_verified_domain_but_no_sso(self, admin: AdminClient):
        admin.post("/orgs", {"slug": "acme", "name": "Acme", "verified_domains": ["acme.com"]})

        response = admin.post("/orgs/acme/scim/enable")

        assert response.status_code == 409
        assert response.json["detail"] == (
            "SCIM stays locked for 'acme' until it has an SSO connection"
        )
        assert admin.get("/orgs/acme/scim").json["enabled"] is False

    def test_with_both_enable_returns_the_base_url_and_a_token_shown_once(
        self, admin: AdminClient, app: falcon.App
    ):
        ready(admin)

        enabled = enable(admin)

        assert enabled["enabled"] is True
        assert enabled["base_url"] == "https://scim.test/scim/v2/acme"
        assert enabled["token"].startswith("scimgate_")
        assert len(enabled["token"]) >= len("scimgate_") + 43  # 256 random bits
        assert works(scim_as(app, enabled["token"]))
        shown_later = admin.get("/orgs/acme/scim").json
        assert "token" not in shown_later
        assert [t["prefix"] for t in shown_later["tokens"]] == [enabled["token_prefix"]]
        assert enabled["token"] not in str(admin.get("/orgs/acme").json)

    def test_enabling_twice_is_refused_pointing_at_rotation(self, admin: AdminClient):
        ready(admin)
        enable(admin)

        again = admin.post("/orgs/acme/scim/enable")

        assert again.status_code == 409
        assert "already on" in again.json["detail"]
        assert "rotate" in again.json["detail"]

    def test_removing_sso_keeps_scim_on_but_locks_a_new_enable(
        self, admin: AdminClient, app: falcon.App
    ):
        ready(admin)
        token = enable(admin)["token"]

        assert admin.delete("/orgs/acme/sso").status_code == 204
        assert works(scim_as(app, token))
        admin.post("/orgs/acme/scim/disable")
        refused = admin.post("/orgs/acme/scim/enable")

        assert refused.status_code == 409
        assert refused.json["detail"].endswith("until it has an SSO connection")

    def test_the_cli_gives_the_same_answers(self, cli, tmp_path):
        cli("org", "create", "acme", "--name", "Acme")
        locked = cli("scim", "enable", "acme", expect=1)
        cli("domain", "verify", "acme", "acme.com", "--force-verify", "--reason", REASON)
        no_sso = cli("scim", "enable", "acme", expect=1)
        metadata = tmp_path / "idp.xml"
        metadata.write_text(idp_metadata())
        cli("sso", "set", "acme", str(metadata))
        enabled = cli("scim", "enable", "acme").stdout

        assert locked.stderr == (
            "scimgate: SCIM stays locked for 'acme' until it has an SSO connection "
            "and a verified domain\n"
        )
        assert no_sso.stderr.endswith("until it has an SSO connection\n")
        assert "SCIM_BASE_URL=https://scim.test/scim/v2/acme\n" in enabled
        assert "SCIM_TOKEN=scimgate_" in enabled


class TestDisable:
    def test_disable_revokes_at_once_keeps_members_and_stops_syncing(
        self, admin: AdminClient, app: falcon.App, drain: Callable[[], None]
    ):
        ready(admin)
        token = enable(admin)["token"]
        idp = scim_as(app, token)
        ada = idp.post("/Users", okta_user("ada@acme.com"))
        bob = idp.post("/Users", okta_user("bob@acme.com", "Bob", "Byron"))
        assert (ada.status_code, bob.status_code) == (201, 201), ada.text
        ada = ada.json
        drain()
        before = roster(admin)
        assert [m["status"] for m in before] == ["active", "active"]

        disabled = admin.post("/orgs/acme/scim/disable")

        assert disabled.status_code == 200
        assert disabled.json["enabled"] is False
        assert [t["state"] for t in disabled.json["tokens"]] == ["revoked"]
        # The IdP keeps trying: every request is 401 and changes nothing.
        refused = [
            idp.get("/Users"),
            idp.get(f"/Users/{ada['id']}"),
            idp.post("/Users", okta_user("eve@acme.com")),
            idp.patch(
                f"/Users/{ada['id']}", patch_op({"op": "replace", "value": {"active": False}})
            ),
            idp.delete(f"/Users/{ada['id']}"),
        ]
        assert [r.status_code for r in refused] == [401] * 5
        assert refused[0].json["status"] == "401"
        drain()
        assert roster(admin) == before
        assert admin.get("/orgs/acme/status").json["pending_changes"] == 0

    def test_re_enabling_resumes_with_a_new_token_and_the_old_one_stays_dead(
        self, admin: AdminClient, app: falcon.App
    ):
        ready(admin)
        old = enable(admin)["token"]
        ada = scim_as(app, old).post("/Users", okta_user("ada@acme.com")).json
        admin.post("/orgs/acme/scim/disable")

        new = enable(admin)["token"]

        assert new != old
        assert not works(scim_as(app, old))
        resumed = scim_as(app, new).get(f"/Users/{ada['id']}")
        assert resumed.status_code == 200
        assert resumed.json["userName"] == "ada@acme.com"

    def test_cli_disable_then_the_old_token_is_401(self, cli, admin: AdminClient, app):
        ready(admin)
        token = enable(admin)["token"]

        said = cli("scim", "disable", "acme").stdout

        assert "tokens are revoked and its members stay" in said
        assert not works(scim_as(app, token))


class TestTokens:
    def test_rotation_keeps_both_tokens_working_during_the_grace_then_only_the_new(
        self, admin: AdminClient, app: falcon.App
    ):
        ready(admin)
        old = enable(admin)["token"]

        rotated = admin.post("/orgs/acme/scim/rotate", {"grace_seconds": 1})

        assert rotated.status_code == 200
        new = rotated.json["token"]
        assert works(scim_as(app, old))
        assert works(scim_as(app, new))
        states = {t["prefix"]: t["state"] for t in rotated.json["tokens"]}
        assert states == {rotated.json["token_prefix"]: "active", old[9:17]: "expiring"}
        time.sleep(1.2)
        assert not works(scim_as(app, old))
        assert works(scim_as(app, new))

    def test_rotation_without_grace_stops_the_old_token_at_once(
        self, admin: AdminClient, app: falcon.App
    ):
        ready(admin)
        old = enable(admin)["token"]

        new = admin.post("/orgs/acme/scim/rotate", {"grace_seconds": 0}).json["token"]

        assert not works(scim_as(app, old))
        assert works(scim_as(app, new))

    def test_rotation_needs_scim_on_and_a_sane_grace(self, admin: AdminClient):
        ready(admin)
        off = admin.post("/orgs/acme/scim/rotate")
        enable(admin)
        too_long = admin.post("/orgs/acme/scim/rotate", {"grace_seconds": 31 * 86400})
        not_a_number = admin.post("/orgs/acme/scim/rotate", {"grace_seconds": "1h"})

        assert off.status_code == 409
        assert "SCIM is off" in off.json["detail"]
        assert too_long.status_code == 400
        assert not_a_number.status_code == 400

    def test_an_expired_token_is_401(self, admin: AdminClient, app: falcon.App):
        ready(admin)
        token = enable(admin, expires_in_seconds=1)["token"]
        assert works(scim_as(app, token))

        time.sleep(1.2)

        assert not works(scim_as(app, token))
        assert admin.get("/orgs/acme/scim").json["tokens"][0]["state"] == "expired"

    def test_revoking_one_token_by_prefix_stops_it_at_once(
        self, admin: AdminClient, app: falcon.App
    ):
        ready(admin)
        old = enable(admin)
        new = admin.post("/orgs/acme/scim/rotate", {"grace_seconds": 3600}).json

        revoked = admin.delete(f"/orgs/acme/scim/tokens/{old['token_prefix']}")

        assert revoked.status_code == 200
        assert revoked.json["state"] == "revoked"
        assert not works(scim_as(app, old["token"]))
        assert works(scim_as(app, new["token"]))
        assert admin.delete(f"/orgs/acme/scim/tokens/{old['token_prefix']}").status_code == 404

    def test_the_cli_rotates_lists_and_revokes(self, cli, admin: AdminClient, app):
        ready(admin)
        old = enable(admin)

        rotated = cli("scim", "rotate", "acme", "--grace", "1h").stdout
        new = rotated.split("SCIM_TOKEN=")[1].strip()
        listed = cli("scim", "tokens", "acme").stdout
        cli("scim", "revoke", "acme", old["token_prefix"])

        assert f"token {old['token_prefix']}  expiring" in listed
        assert f"token {new[9:17]}  active" in listed
        assert not works(scim_as(app, old["token"]))
        assert works(scim_as(app, new))
        assert "not a duration" in cli("scim", "rotate", "acme", "--grace", "soon", expect=2).stderr

    def test_last_used_at_is_written_at_most_once_a_minute_not_per_request(
        self, admin: AdminClient, app: falcon.App, database: Database, broker: RedisBroker
    ):
        ready(admin)
        enabled = enable(admin)
        idp = scim_as(app, enabled["token"])
        token_writes: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany):
            # Requests touch one token by id; the test's own rewind below has no WHERE.
            if statement.startswith("UPDATE scim_tokens") and "WHERE scim_tokens.id" in statement:
                token_writes.append(statement)

        event.listen(database.engine, "before_cursor_execute", count)
        try:
            for _ in range(5):
                assert works(idp)
            first_use = admin.get("/orgs/acme/scim").json["tokens"][0]["last_used_at"]
            assert first_use is not None
            assert len(token_writes) == 1

            # A minute later (moved back in the database), the next request records it again.
            # By then the web process's cached authentication has lapsed (it lives 30 s); a
            # new credentials epoch stands for that here.
            with database.writing() as session:
                session.execute(update(ScimToken).values(last_used_at=utcnow().replace(year=2000)))
            broker.client.set(EPOCH_KEY, "a minute later")
            assert works(idp)
            assert works(idp)
        finally:
            event.remove(database.engine, "before_cursor_execute", count)
        assert len(token_writes) == 2
        with database.reading() as session:
            last_used = session.scalar(select(ScimToken.last_used_at))
        assert last_used.year == utcnow().year


class TestVerifiedDomainsOnly:
    @pytest.mark.parametrize(
        "body",
        [
            okta_user("mallory@elsewhere.org"),
            {
                **okta_user("ada@acme.com"),
                "emails": [{"value": "ada@elsewhere.org", "primary": True, "type": "work"}],
            },
        ],
        ids=["userName", "primary email"],
    )
    def test_a_user_outside_the_verified_domains_is_refused_naming_the_domain(
        self, admin: AdminClient, app: falcon.App, body: dict
    ):
        ready(admin)
        idp = scim_as(app, enable(admin)["token"])

        response = idp.post("/Users", body)

        assert response.status_code == 400
        assert response.json["scimType"] == "invalidValue"
        assert "'elsewhere.org' is not verified" in response.json["detail"]
        assert idp.get("/Users").json["totalResults"] == 0

    def test_a_pending_domain_does_not_count_and_a_removed_one_stops_new_writes(
        self, admin: AdminClient, app: falcon.App, drain: Callable[[], None]
    ):
        ready(admin)
        admin.post("/orgs/acme/domains", {"name": "pending.org"})
        idp = scim_as(app, enable(admin)["token"])
        pending = idp.post("/Users", okta_user("ada@pending.org"))
        idp.post("/Users", okta_user("bob@acme.com", "Bob", "Byron"))
        drain()

        assert admin.delete("/orgs/acme/domains/acme.com").status_code == 204
        later = idp.post("/Users", okta_user("cyd@acme.com", "Cyd", "Charisse"))

        assert pending.status_code == 400
        assert later.status_code == 400
        assert "'acme.com' is not verified" in later.json["detail"]
        assert [m["email"] for m in roster(admin)] == ["bob@acme.com"]
