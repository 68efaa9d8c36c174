"""The scimgate command, run as an operator would (in-process, on a real database)."""

from __future__ import annotations

import json
import re

import pytest

from api.cli import main
from models.core.db import Database
from tests.support.saml import idp_metadata
from tests.support.scim import ScimClient, okta_group, okta_user


@pytest.fixture
def cli(database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setenv("SCIMGATE_DATABASE_URL", database_url)
    monkeypatch.setenv("SCIMGATE_REDIS_URL", redis_url)
    monkeypatch.setenv("SCIMGATE_PUBLIC_URL", "https://scim.test")

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_org_create_then_scim_enable_prints_the_base_url_and_a_token(cli, tmp_path):
    assert cli("org", "create", "acme", "--name", "Acme", "--domain", "Example.COM")[0] == 0
    metadata = tmp_path / "idp.xml"
    metadata.write_text(idp_metadata())
    assert cli("sso", "set", "acme", str(metadata))[0] == 0

    code, out, _ = cli("scim", "enable", "acme")

    assert code == 0
    assert re.search(r"^SCIM_BASE_URL=https://scim.test/scim/v2/acme$", out, re.MULTILINE)
    assert re.search(r"^SCIM_TOKEN=scimgate_\S{40,}$", out, re.MULTILINE)


@pytest.mark.parametrize(
    "args, message",
    [
        (("org", "create", "Bad Slug!", "--name", "X"), "slug"),
        (("scim", "enable", "nobody"), "no organization 'nobody'"),
        (("roster", "nobody"), "no organization 'nobody'"),
        (("org", "create", "acme", "--name", "X", "--domain", "not a domain"), "domain"),
    ],
)
def test_errors_are_one_clear_line_and_a_non_zero_exit(cli, args, message):
    code, _, err = cli(*args)

    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith("scimgate: ")
    assert message in err


def test_scim_enable_is_refused_without_a_verified_domain(cli):
    cli("org", "create", "acme", "--name", "Acme")

    code, _, err = cli("scim", "enable", "acme")

    assert code == 1
    assert "verified domain" in err


def test_roster_events_and_status_after_provisioning(
    cli, scim: ScimClient, tenant, database: Database
):
    scim.post("/Users", okta_user("ada@example.com"))
    code, out, _ = cli("status", "acme", "--json")
    before = json.loads(out)
    assert before["pending_changes"] == 1
    assert before["oldest_pending_seconds"] >= 0
    assert isinstance(before["queue_backlog"], int)

    code, out, _ = cli("reconcile", "acme")
    assert code == 0
    assert "1 users compared, 1 events" in out

    roster = json.loads(cli("roster", "acme", "--json")[1])
    events = json.loads(cli("events", "acme", "--json")[1])
    after = json.loads(cli("status", "acme", "--json")[1])
    assert roster == [
        {
            "email": "ada@example.com",
            "status": "active",
            "status_reason": None,
            "role": "member",
            "display_name": "Ada Lovelace",
            "source": "scim",
        }
    ]
    assert [(e["sequence"], e["type"]) for e in events] == [(1, "member.added")]
    assert after["pending_changes"] == 0
    assert after["last_reconciled_at"] is not None
    assert after["events"] == 1


def test_webhook_add_status_and_replay(cli, tenant):
    code, out, _ = cli("webhook", "add", "acme", "https://hooks.example.com/in")
    assert code == 0
    assert re.search(r"^WEBHOOK_SECRET=whsec_\S+$", out, re.MULTILINE)

    endpoints = json.loads(cli("webhook", "status", "acme", "--json")[1])
    assert endpoints[0]["url"] == "https://hooks.example.com/in"
    assert endpoints[0]["failing_since"] is None

    code, out, _ = cli("webhook", "replay", "acme", "--from", "1")
    assert code == 0
    assert "1 endpoint" in out


def test_scim_disable_revokes_the_token_and_keeps_members(
    cli, scim: ScimClient, tenant, database: Database
):
    from models.roster.reconcile import reconcile_organization

    scim.post("/Users", okta_user("ada@example.com"))
    reconcile_organization(database, tenant.id)

    assert cli("scim", "disable", "acme")[0] == 0

    assert scim.get("/Users").status_code == 401
    roster = json.loads(cli("roster", "acme", "--json")[1])
    assert [(m["email"], m["status"]) for m in roster] == [("ada@example.com", "active")]


HUGE = "9" * 30


@pytest.mark.parametrize(
    "args, message",
    [
        (("events", "acme", "--after", HUGE), "from 0 to 2147483647"),
        (("events", "acme", "--limit", "-1"), "from 0 to 2147483647"),
        (("audit", "acme", "--after", str(2**63)), f"from 0 to {2**63 - 1}"),
        (("webhook", "replay", "acme", "--from", HUGE), "from 0 to 2147483647"),
        (("scim", "enable", "acme", "--expires-in", HUGE + "d"), "longer than 3650 days"),
        (("scim", "rotate", "acme", "--grace", "3651d"), "longer than 3650 days"),
    ],
)
def test_numbers_out_of_range_are_refused_naming_the_range(cli, capsys, args, message):
    cli("org", "create", "acme", "--name", "Acme")
    with pytest.raises(SystemExit) as refused:
        cli(*args)

    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_a_seat_limit_past_the_range_is_one_clear_line(cli):
    cli("org", "create", "acme", "--name", "Acme")

    code, _, err = cli("org", "set", "acme", "--seat-limit", HUGE)

    assert code == 1
    assert err.startswith("scimgate: ")
    assert "up to 1000000000" in err


def test_status_counts_groups_waiting_for_the_roster_as_the_sweep_does(
    cli, scim: ScimClient, tenant
):
    ada = scim.post("/Users", okta_user("ada@example.com")).json["id"]
    cli("reconcile", "acme")

    scim.post("/Groups", okta_group("Engineering", ada))
    status = json.loads(cli("status", "acme", "--json")[1])

    assert status["pending_changes"] == 1
    assert status["members"] == {"active": 1, "deactivated": 0, "removed": 0, "pending_seat": 0}
