"""Hostile HTTP at every route of a real gunicorn: raw request targets and broken bodies.

What falcon.testing cannot send: a request target exactly as written (`/%2fadmin/...`,
which the server decodes before the app sees it), chunked bodies with a bad chunk, and a
body shorter than its Content-Length. Each goes over a socket of its own to every route,
with the credential the route needs, so the broken body reaches the code that reads it.
"""

from __future__ import annotations

import itertools
import re
import socket

import falcon

from api.routing import Access, declared_routes
from models.core.db import Database
from tests.support.admin import operator_token
from tests.support.processes import Stack
from tests.support.routes import concrete_path, spellings
from tests.support.saml import idp_metadata
from tests.support.scim import OrganizationFixture

STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3}) ")
BROKEN_BODIES = {
    "a bad chunk size": b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\nzz\r\n",
    "chunks that stop": b"Transfer-Encoding: chunked\r\n\r\n5\r\n{}",
    "a body shorter than its length": b"Content-Length: 100\r\n\r\n" + b'{"userName": ',
}
# Each parsed by other code: SCIM's and the admin API's JSON, SSO metadata's XML.
BODY_TYPES = ("application/scim+json", "application/json", "application/xml")


def send(port: int, raw: bytes) -> tuple[int, bytes]:
    """Send raw bytes, close our side, and read the answer: (status, whole response)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(raw)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    found = STATUS_LINE.match(answer)
    assert found, f"no HTTP answer to {raw[:80]!r}: {answer[:200]!r}"
    return int(found.group(1)), answer


def request(
    method: str,
    target: str,
    token: str | None,
    extra: bytes = b"\r\n",
    content_type: str = "application/scim+json",
) -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: scim.test\r\nConnection: close\r\n"
    head += f"Content-Type: {content_type}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    return head.encode() + extra


def test_raw_spellings_and_broken_bodies_never_get_a_5xx(
    stack: Stack, app: falcon.App, database: Database, acme: OrganizationFixture
):
    # Given a deployment with an organization whose SCIM is on, and an operator token. Admin
    # routes are walked on another organization: an admin action that reads no body
    # (disabling SCIM, say) succeeds, and must not take acme's token away from the walk.
    OrganizationFixture.create(database, "initech", ["initech.com"])
    scim_token, operator = acme.token, operator_token(database)
    stack.start_web(workers=1)
    tokens = {Access.SCIM: scim_token, Access.OPERATOR: operator}
    port = stack.port

    # When every route is asked under every spelling of its path, and sent every broken body
    failures = []
    for route in declared_routes(app):
        token = tokens.get(route.access)
        path = concrete_path(route, "acme", {"org": "initech"})
        for spelling in list(spellings(path))[1:]:
            status, answer = send(port, request("GET", spelling, token))
            if status != 404 or b"Traceback" in answer:
                failures.append(("GET", spelling, status))
        for method in set(route.methods) & {"POST", "PUT", "PATCH"}:
            for (what, extra), content_type in itertools.product(BROKEN_BODIES.items(), BODY_TYPES):
                status, answer = send(port, request(method, path, token, extra, content_type))
                if status >= 500 or b"Traceback" in answer:
                    failures.append((method, path, what, content_type, status))

    # Then no spelling reached a route, and no broken body got a 5xx
    assert not failures, "\n".join(map(str, failures))
    # And the service still answers normally afterwards, chunked bodies included
    status, _ = send(port, request("GET", "/scim/v2/acme/Users?count=1", scim_token))
    assert status == 200
    metadata = idp_metadata().encode()
    chunked = b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(
        b"%x\r\n%s\r\n" % (len(part), part) for part in (metadata[:100], metadata[100:], b"")
    )
    status, answer = send(
        port, request("PUT", "/admin/v1/orgs/initech/sso", operator, chunked, "application/xml")
    )
    assert status == 200, answer
