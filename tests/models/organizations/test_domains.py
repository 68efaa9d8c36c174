"""Domains: a TXT challenge checked against a real DNS server on loopback, or an override."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import ValidationError
from scim2_models import Context

from api.scim.schemas import parse_user
from models.core.config import Settings
from models.organizations.domains import parse_resolver_address
from tests.support.admin import AdminClient
from tests.support.dns import DnsServer
from tests.support.scim import okta_user

# Names no user's email can be in (special-use and reserved names, a label email refuses),
# and names users can be in: example.com is reserved for documentation, yet email addresses
# in it are accepted, so it is accepted as a domain too.
UNDELIVERABLE = [
    "other.test",
    "corp.invalid",
    "printer.local",
    "app.localhost",
    "hidden.onion",
    "10.in-addr.arpa",
    "ab--cd.com",
]
DELIVERABLE = ["example.com", "acme.example", "acme.com"]


@pytest.fixture
def settings(settings: Settings, dns_server: DnsServer) -> Settings:
    return replace(settings, dns_resolver=dns_server.address, dns_timeout_seconds=1.0)


@pytest.fixture
def acme(admin: AdminClient) -> str:
    assert admin.post("/orgs", {"slug": "acme", "name": "Acme"}).status_code == 201
    return "acme"


def add(admin: AdminClient, name: str = "acme.com") -> dict:
    response = admin.post("/orgs/acme/domains", {"name": name})
    assert response.status_code == 201, response.text
    return response.json


def audit_actions(admin: AdminClient) -> list[tuple[str, str | None, dict]]:
    records = admin.get("/orgs/acme/audit").json["records"]
    return [(r["action"], r["target"], r["details"]) for r in records if r["kind"] == "admin"]


class TestAdd:
    def test_adding_gives_a_txt_record_to_publish_and_leaves_the_domain_pending(
        self, admin: AdminClient, acme: str
    ):
        domain = add(admin, "Acme.COM.")

        assert domain["name"] == "acme.com"
        assert domain["verified"] is False
        record = domain["txt_record"]
        assert record["name"] == "_scimgate-challenge.acme.com"
        assert record["type"] == "TXT"
        assert record["value"].startswith("scimgate-verification=")
        assert len(record["value"]) > len("scimgate-verification=") + 20

    def test_each_domain_gets_its_own_random_challenge_and_adding_again_keeps_it(
        self, admin: AdminClient, acme: str
    ):
        first = add(admin, "acme.com")["txt_record"]["value"]
        other = add(admin, "acme.example")["txt_record"]["value"]

        assert first != other
        assert add(admin, "acme.com")["txt_record"]["value"] == first

    @pytest.mark.parametrize("name", ["not a domain", "acme", "-acme.test", "a" * 64 + ".test"])
    def test_a_malformed_name_is_refused(self, admin: AdminClient, acme: str, name: str):
        response = admin.post("/orgs/acme/domains", {"name": name})

        assert response.status_code == 400
        assert "is not a domain name" in response.json["detail"]


class TestEmailDomainRule:
    def test_a_domain_is_refused_with_the_reason_exactly_when_scim_refuses_its_users(
        self, admin: AdminClient, acme: str
    ):
        for name in UNDELIVERABLE + DELIVERABLE:
            response = admin.post("/orgs/acme/domains", {"name": name})
            try:
                parse_user(okta_user(f"ada@{name}"), Context.RESOURCE_CREATION_REQUEST)
                scim_accepts = True
            except ValidationError:
                scim_accepts = False

            assert (response.status_code == 201) is scim_accepts, (name, response.text)
            if not scim_accepts:
                assert response.status_code == 400, response.text
                assert response.json["detail"].startswith(
                    f"{name!r} cannot be an email domain, so no user in it could be provisioned: "
                )
        listed = [domain["name"] for domain in admin.get("/orgs/acme/domains").json["domains"]]
        assert listed == sorted(DELIVERABLE)

    def test_an_organization_created_with_such_a_domain_is_not_created(self, admin: AdminClient):
        response = admin.post(
            "/orgs", {"slug": "acme", "name": "Acme", "verified_domains": ["acme.com", "acme.test"]}
        )

        assert response.status_code == 400, response.text
        assert "'acme.test' cannot be an email domain" in response.json["detail"]
        assert admin.get("/orgs/acme").status_code == 404

    def test_the_cli_refuses_it_too(self, cli):
        created = cli("org", "create", "acme", "--name", "Acme", "--domain", "acme.local", expect=1)
        cli("org", "create", "acme", "--name", "Acme")
        added = cli("domain", "add", "acme", "acme.test", expect=1)
        forced = cli(
            "domain",
            "verify",
            "acme",
            "acme.invalid",
            "--force-verify",
            "--reason",
            "the customer asked for it on the phone",
            expect=1,
        )

        assert "'acme.local' cannot be an email domain" in created.stderr
        assert "'acme.test' cannot be an email domain" in added.stderr
        assert "'acme.invalid' cannot be an email domain" in forced.stderr
        assert "acme." not in cli("domain", "list", "acme").stdout


class TestVerifyByDns:
    def test_the_published_record_verifies_the_domain_and_records_who_and_when(
        self, admin: AdminClient, acme: str, dns_server: DnsServer
    ):
        record = add(admin)["txt_record"]
        dns_server.publish(record["name"], "v=spf1 -all", record["value"])

        response = admin.post("/orgs/acme/domains/acme.com/verify")

        assert response.status_code == 200, response.text
        domain = response.json
        assert domain["verified"] is True
        assert domain["verification_method"] == "dns"
        assert domain["verified_by"] == "operator alice"
        assert domain["verified_at"] is not None
        assert domain["txt_record"] is None
        assert dns_server.queries == ["_scimgate-challenge.acme.com"]
        assert ("domain.verified", "acme.com", {"method": "dns", "record": record["name"]}) in (
            audit_actions(admin)
        )

    def test_a_wrong_value_is_refused_showing_what_was_found_and_what_is_expected(
        self, admin: AdminClient, acme: str, dns_server: DnsServer
    ):
        record = add(admin)["txt_record"]
        dns_server.publish(record["name"], "scimgate-verification=stale")

        response = admin.post("/orgs/acme/domains/acme.com/verify")

        assert response.status_code == 409
        detail = response.json["detail"]
        assert "'scimgate-verification=stale'" in detail
        assert record["value"] in detail
        assert admin.get("/orgs/acme/domains/acme.com").json["verified"] is False

    def test_nxdomain_says_the_name_does_not_exist(
        self, admin: AdminClient, acme: str, dns_server: DnsServer
    ):
        add(admin)

        response = admin.post("/orgs/acme/domains/acme.com/verify")

        assert response.status_code == 409
        assert response.json["detail"].startswith(
            "_scimgate-challenge.acme.com does not exist in DNS (NXDOMAIN)"
        )

    def test_a_name_without_txt_records_says_so(
        self, admin: AdminClient, acme: str, dns_server: DnsServer
    ):
        add(admin)
        dns_server.names_without_txt.add("_scimgate-challenge.acme.com")

        response = admin.post("/orgs/acme/domains/acme.com/verify")

        assert response.status_code == 409
        assert "exists but has no TXT record" in response.json["detail"]

    def test_a_resolver_that_does_not_answer_is_503_naming_it_and_the_timeout(
        self, admin: AdminClient, acme: str, dns_server: DnsServer
    ):
        add(admin)
        dns_server.silent = True

        response = admin.post("/orgs/acme/domains/acme.com/verify")

        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json["detail"] == (
            f"the DNS resolver at {dns_server.address} did not answer within 1 s "
            "when asked for TXT _scimgate-challenge.acme.com; try again later"
        )
        assert admin.get("/orgs/acme/domains/acme.com").json["verified"] is False

    def test_an_unknown_domain_is_404(self, admin: AdminClient, acme: str):
        response = admin.post("/orgs/acme/domains/nowhere.com/verify")

        assert response.status_code == 404
        assert response.json["detail"] == "'acme' has no domain 'nowhere.com'"


class TestOperatorOverride:
    def test_force_verify_needs_a_reason(self, admin: AdminClient, acme: str):
        add(admin)

        missing = admin.post("/orgs/acme/domains/acme.com/verify", {"force": True})
        too_short = admin.post(
            "/orgs/acme/domains/acme.com/verify", {"force": True, "reason": "ok"}
        )

        assert missing.status_code == 400
        assert "needs a reason" in missing.json["detail"]
        assert too_short.status_code == 400
        assert "needs a reason" in too_short.json["detail"]
        assert admin.get("/orgs/acme/domains/acme.com").json["verified"] is False

    def test_force_verify_is_explicit_and_audited_with_its_reason(
        self, admin: AdminClient, acme: str, dns_server: DnsServer
    ):
        reason = "ticket 4521: registrar transfer in progress, ownership checked by phone"

        response = admin.post(
            "/orgs/acme/domains/acme.com/verify", {"force": True, "reason": reason}
        )

        assert response.status_code == 200
        assert response.json["verification_method"] == "operator"
        assert response.json["verified_by"] == "operator alice"
        assert dns_server.queries == []
        assert ("domain.force_verified", "acme.com", {"reason": reason}) in audit_actions(admin)

    def test_organization_create_with_domains_goes_through_the_override(self, admin: AdminClient):
        response = admin.post(
            "/orgs", {"slug": "acme", "name": "Acme", "verified_domains": ["acme.com"]}
        )

        assert response.status_code == 201
        assert response.json["domains"][0]["verification_method"] == "operator"
        assert [a[0] for a in audit_actions(admin)] == [
            "organization.created",
            "domain.force_verified",
        ]


class TestListAndRemove:
    def test_list_shows_pending_and_verified_domains_and_remove_forgets_one(
        self, admin: AdminClient, acme: str
    ):
        add(admin, "acme.com")
        add(admin, "acme.example")
        admin.post(
            "/orgs/acme/domains/acme.example/verify",
            {"force": True, "reason": "checked by the support team"},
        )

        listed = admin.get("/orgs/acme/domains").json["domains"]
        assert [(d["name"], d["verified"]) for d in listed] == [
            ("acme.com", False),
            ("acme.example", True),
        ]

        assert admin.delete("/orgs/acme/domains/acme.com").status_code == 204
        assert [d["name"] for d in admin.get("/orgs/acme/domains").json["domains"]] == [
            "acme.example"
        ]
        assert admin.delete("/orgs/acme/domains/acme.com").status_code == 404


class TestCli:
    def test_add_then_verify_against_real_dns(self, cli, dns_server: DnsServer):
        cli("org", "create", "acme", "--name", "Acme")

        added = cli("domain", "add", "acme", "acme.com").stdout
        record = next(line.split() for line in added.splitlines() if "TXT" in line)
        name, value = record[0].rstrip("."), record[2].strip('"')
        assert name == "_scimgate-challenge.acme.com"

        failed = cli("domain", "verify", "acme", "acme.com", expect=1)
        assert "does not exist in DNS (NXDOMAIN)" in failed.stderr

        dns_server.publish(name, value)
        verified = cli("domain", "verify", "acme", "acme.com", "--json").stdout
        assert '"verification_method": "dns"' in verified
        assert '"verified_by": "cli ' in verified

    def test_force_verify_needs_reason_and_reason_needs_force_verify(self, cli):
        cli("org", "create", "acme", "--name", "Acme")

        no_reason = cli("domain", "verify", "acme", "acme.com", "--force-verify", expect=1)
        stray_reason = cli("domain", "verify", "acme", "acme.com", "--reason", "x" * 12, expect=1)
        forced = cli(
            "domain",
            "verify",
            "acme",
            "acme.com",
            "--force-verify",
            "--reason",
            "contract signed, DNS managed by the parent company",
        )

        assert "override (force) needs a reason" in no_reason.stderr
        assert "a reason only goes with an operator override" in stray_reason.stderr
        assert "acme.com" in forced.stdout
        assert "(operator)" in forced.stdout
        audit = cli("audit", "acme", "--json").stdout
        assert "domain.force_verified" in audit
        assert "contract signed, DNS managed by the parent company" in audit

    def test_org_create_domain_is_an_audited_override(self, cli):
        created = cli("org", "create", "acme", "--name", "Acme", "--domain", "acme.com")

        assert "verified by operator override" in created.stdout
        listed = cli("domain", "list", "acme").stdout
        assert "acme.com" in listed
        assert "(operator)" in listed
        assert "domain.force_verified" in cli("audit", "acme").stdout


@pytest.mark.parametrize(
    "address, parsed",
    [
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("10.0.0.2", ("10.0.0.2", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("::1", ("::1", 53)),
    ],
)
def test_resolver_addresses_are_ip_and_optional_port(address: str, parsed: tuple[str, int]):
    assert parse_resolver_address(address) == parsed


@pytest.mark.parametrize("address", ["dns.google:53", "127.0.0.1:0", "127.0.0.1:x", "[::1]:99999"])
def test_a_bad_resolver_address_fails_clearly(address: str):
    with pytest.raises(ValueError, match="SCIMGATE_DNS_RESOLVER"):
        parse_resolver_address(address)
