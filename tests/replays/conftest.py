"""Replay fixtures: a live deployment (gunicorn, Dramatiq) with an organization ready for SCIM."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support.processes import Stack
from tests.support.scim import SCIM_JSON


@dataclass
class LiveScim:
    """A running deployment and the credentials an admin would paste into the IdP."""

    stack: Stack
    base_url: str
    token: str

    def client(self, query: str = "") -> httpx.Client:
        """An HTTP client on the SCIM base URL, as an IdP holds it (`query` as in Entra's URL)."""
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": SCIM_JSON,
            "Accept": SCIM_JSON,
        }
        params = httpx.QueryParams(query) if query else None
        return httpx.Client(base_url=self.base_url, headers=headers, params=params, timeout=15)


@pytest.fixture
def live(stack: Stack) -> Iterator[LiveScim]:
    """gunicorn and a worker on a fresh database, with organization acme and SCIM enabled."""
    # Replays send as fast as a test can; the rate limit has tests of its own.
    stack.env["SCIMGATE_RATE_LIMIT_BURST"] = "100000"
    stack.cli("org", "create", "acme", "--name", "Acme", "--domain", "example.com")
    stack.connect_sso("acme")
    enabled = stack.cli("scim", "enable", "acme").stdout
    token = re.search(r"^SCIM_TOKEN=(\S+)$", enabled, re.MULTILINE).group(1)
    base_url = re.search(r"^SCIM_BASE_URL=(\S+)$", enabled, re.MULTILINE).group(1)
    stack.start_web()
    stack.start_worker()
    try:
        yield LiveScim(stack, base_url, token)
    except BaseException:
        print(stack.logs())
        raise
