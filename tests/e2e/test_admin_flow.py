"""An admin sets an organization up through the admin API of real gunicorn processes.

Domain verification asks a real DNS server on loopback; the IdP then provisions over SCIM,
the audit trail shows what happened, and disabling SCIM shuts the IdP out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support.dns import DnsServer
from tests.support.processes import Stack, wait_until
from tests.support.saml import idp_metadata
from tests.support.scim import SCIM_JSON, okta_user


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    server = DnsServer().start()
    yield server
    server.stop()


def test_admin_api_sets_up_an_organization_that_the_idp_then_provisions(
    stack: Stack, dns: DnsServer
):
    stack.env["SCIMGATE_DNS_RESOLVER"] = dns.address
    created = stack.cli("operator", "token", "create", "ops").stdout
    operator = re.search(r"^SCIMGATE_OPERATOR_TOKEN=(\S+)$", created, re.MULTILINE).group(1)
    stack.start_web()
    stack.start_worker()
    admin = httpx.Client(
        base_url=f"{stack.base}/admin/v1",
        headers={"Authorization": f"Bearer {operator}"},
        timeout=10,
    )

    try:
        assert admin.post("/orgs", json={"slug": "acme", "name": "Acme"}).status_code == 201
        record = admin.post("/orgs/acme/domains", json={"name": "acme.com"}).json()["txt_record"]
        dns.publish(record["name"], record["value"])
        verified = admin.post("/orgs/acme/domains/acme.com/verify")
        assert verified.status_code == 200, verified.text
        assert verified.json()["verification_method"] == "dns"
        sso = admin.put(
            "/orgs/acme/sso",
            content=idp_metadata(),
            headers={"Content-Type": "application/samlmetadata+xml"},
        )
        assert sso.status_code == 200
        enabled = admin.post("/orgs/acme/scim/enable").json()
        assert enabled["base_url"] == f"{stack.base}/scim/v2/acme"

        idp = httpx.Client(
            base_url=enabled["base_url"],
            headers={"Authorization": f"Bearer {enabled['token']}", "Content-Type": SCIM_JSON},
            timeout=10,
        )
        user = idp.post("/Users", json=okta_user("ada@acme.com"))
        assert user.status_code == 201
        wait_until(
            lambda: admin.get("/orgs/acme/members").json()["members"],
            what="the member to reach the roster",
        )

        # Every gunicorn worker buffers its own records and writes them within a second.
        def audited() -> list[str]:
            return [r["action"] for r in admin.get("/orgs/acme/audit").json()["records"]]

        wait_until(lambda: "Users.create" in audited(), what="the SCIM request in the audit")
        assert audited()[:5] == [
            "organization.created",
            "domain.added",
            "domain.verified",
            "sso.created",
            "scim.enabled",
        ]
        printed = json.loads(stack.cli("audit", "acme", "--json").stdout)
        assert [r["action"] for r in printed] == audited()

        assert admin.post("/orgs/acme/scim/disable").status_code == 200
        assert idp.get("/Users").status_code == 401
        assert admin.get("/orgs/acme/members").json()["members"][0]["status"] == "active"
        assert httpx.get(f"{stack.base}/admin/v1/orgs", timeout=10).status_code == 401
        idp.close()
    except AssertionError:
        print(stack.logs())
        raise
    finally:
        admin.close()
