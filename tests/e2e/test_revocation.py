"""A revocation from the command line reaches every running web process at once."""

from __future__ import annotations

import re

import httpx

from tests.support.processes import Stack


def test_scim_disable_answers_401_on_the_next_request_to_any_web_worker(stack: Stack):
    # Given an organization whose token every gunicorn worker has authenticated (and cached)
    stack.cli("org", "create", "acme", "--name", "Acme", "--domain", "example.com")
    stack.connect_sso("acme")
    enabled = stack.cli("scim", "enable", "acme").stdout
    token = re.search(r"^SCIM_TOKEN=(\S+)$", enabled, re.MULTILINE).group(1)
    stack.start_web(workers=2)
    users = f"{stack.base}/scim/v2/acme/Users"
    headers = {"Authorization": f"Bearer {token}"}
    # Fresh connections spread over both workers.
    assert all(httpx.get(users, headers=headers).status_code == 200 for _ in range(20))

    # When an operator disables SCIM
    stack.cli("scim", "disable", "acme")

    # Then no worker accepts the token any more, not even once
    assert {httpx.get(users, headers=headers).status_code for _ in range(20)} == {401}
