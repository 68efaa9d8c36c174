"""Okta's provisioning sequence against real gunicorn, Redis and Dramatiq processes.

After each step the test waits until `scimgate roster` shows what an admin would expect.
"""

from __future__ import annotations

import re

import httpx

from tests.support.processes import Stack, wait_until
from tests.support.scim import SCIM_JSON, okta_user, patch_op, user_filter

EMAIL = "ada@example.com"


def member_status(stack: Stack, email: str = EMAIL) -> str | None:
    member = stack.roster("acme").get(email)
    return member["status"] if member else None


def test_okta_create_update_deactivate_reactivate_reaches_the_roster(stack: Stack):
    # Given an organization with a verified domain, an SSO connection and SCIM enabled
    # through the CLI
    stack.cli("org", "create", "acme", "--name", "Acme", "--domain", "example.com")
    stack.connect_sso("acme")
    enabled = stack.cli("scim", "enable", "acme").stdout
    token = re.search(r"^SCIM_TOKEN=(\S+)$", enabled, re.MULTILINE).group(1)
    base_url = re.search(r"^SCIM_BASE_URL=(\S+)$", enabled, re.MULTILINE).group(1)
    assert base_url == f"{stack.base}/scim/v2/acme"
    stack.start_web()
    stack.start_worker()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON, "Accept": SCIM_JSON}
    okta = httpx.Client(base_url=base_url, headers=headers, timeout=10)

    try:
        # Test connection, then the pre-check GET that finds nobody.
        connection = okta.get("/Users", params={"startIndex": 1, "count": 2})
        assert connection.status_code == 200
        assert connection.json()["totalResults"] == 0
        precheck = okta.get(
            "/Users", params={"filter": user_filter(EMAIL), "startIndex": 1, "count": 100}
        )
        assert precheck.json()["totalResults"] == 0

        # Create: the member appears, active.
        created = okta.post("/Users", json=okta_user(EMAIL))
        assert created.status_code == 201
        user_id = created.json()["id"]
        wait_until(lambda: member_status(stack) == "active", what="the member to be active")

        # Okta's wizard apps: GET then PUT the whole object with a profile change.
        user = okta.get(f"/Users/{user_id}").json()
        user["name"]["givenName"] = "Augusta"
        user["displayName"] = "Augusta Lovelace"
        assert okta.put(f"/Users/{user_id}", json=user).status_code == 200
        wait_until(
            lambda: stack.roster("acme")[EMAIL]["display_name"] == "Augusta Lovelace",
            what="the new display name",
        )

        # Deactivate (PUT with active false), reactivate (catalog apps' path-less PATCH).
        user = okta.get(f"/Users/{user_id}").json()
        user["active"] = False
        assert okta.put(f"/Users/{user_id}", json=user).status_code == 200
        wait_until(lambda: member_status(stack) == "deactivated", what="deactivation")
        reactivate = okta.patch(
            f"/Users/{user_id}", json=patch_op({"op": "replace", "value": {"active": True}})
        )
        assert reactivate.json()["active"] is True
        wait_until(lambda: member_status(stack) == "active", what="reactivation")

        # The mistakes Okta makes or meets.
        duplicate = okta.post("/Users", json=okta_user("ADA@example.com"))
        assert duplicate.status_code == 409
        assert duplicate.json()["scimType"] == "uniqueness"
        bad_token = okta.get("/Users", headers={"Authorization": "Bearer wrong"})
        assert bad_token.status_code == 401
        assert bad_token.json()["status"] == "401"
        assert okta.get("/Users/0e0e0e0e-0000-0000-0000-000000000000").status_code == 404

        # And the event log tells the whole story, once each.
        events = stack.cli("events", "acme", "--json").stdout
        kinds = re.findall(r'"type": "([a-z.]+)"', events)
        assert kinds == [
            "member.added",
            "member.updated",
            "member.deactivated",
            "member.reactivated",
        ]
    except AssertionError:
        print(stack.logs())
        raise
    finally:
        okta.close()
