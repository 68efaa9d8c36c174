"""Bodies that break the HTTP framing, sent as raw bytes to a real gunicorn.

A malformed chunk, a chunked body that stops before its last chunk, a body shorter than its
Content-Length: each is a 400 with a plain detail, never a 500, and the server closes the
connection afterwards, since where a next request would start on it is unknown. A
well-formed body refused unread leaves the connection serving the next request.

One gunicorn serves the whole module. The database plays no part in reading a body, so the
module runs on SQLite only.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis

from models.core.db import Database
from tests.support.admin import operator_token
from tests.support.processes import Stack
from tests.support.scim import OrganizationFixture, okta_user
from tests.support.services import SqliteTemplate

# The Redis database the suite's end-to-end stacks use (see tests/conftest.py).
E2E_REDIS_DB = 1
# How long the server gets to close a connection it should close. A connection it keeps
# alive instead stays open for gunicorn's keepalive (5 s), which is well past this.
CLOSE_WITHIN_SECONDS = 2.0


@dataclass(frozen=True)
class Deployment:
    stack: Stack
    scim_token: str
    operator_token: str


@pytest.fixture(scope="module")
def deployment(
    sqlite_template: SqliteTemplate, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    database_url = sqlite_template.fresh_url()
    database = Database.from_url(database_url, pool_size=1)
    tenant = OrganizationFixture.create(database, "acme", ["example.com"])
    operator = operator_token(database)
    database.dispose()
    e2e_redis = redis_url.rsplit("/", 1)[0] + f"/{E2E_REDIS_DB}"
    redis.Redis.from_url(e2e_redis).flushdb()
    stack = Stack(database_url, e2e_redis, tmp_path_factory.mktemp("malformed-bodies"))
    try:
        stack.start_web(workers=1)
        yield Deployment(stack, tenant.token, operator)
    finally:
        stack.stop()


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: dict


@dataclass(frozen=True)
class Exchange(Answer):
    # Whether the server closed the connection after its answer.
    closed: bool


def exchange(
    deployment: Deployment, path: str, headers: dict[str, str], body: bytes, *, hang_up: bool
) -> Exchange:
    """Send one POST as raw bytes; with `hang_up`, stop sending (shut down writing) after it."""
    with socket.create_connection(("127.0.0.1", deployment.stack.port), timeout=10) as sock:
        send(sock, deployment, "POST", path, headers, body)
        if hang_up:
            sock.shutdown(socket.SHUT_WR)
        answer = read_answer(sock)
        sock.settimeout(CLOSE_WITHIN_SECONDS)
        try:
            closed = sock.recv(1) == b""
        except TimeoutError:
            closed = False
    return Exchange(answer.status, answer.headers, answer.body, closed)


def send(
    sock: socket.socket,
    deployment: Deployment,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
) -> None:
    token = deployment.operator_token if path.startswith("/admin/") else deployment.scim_token
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{deployment.stack.port}",
        f"Authorization: Bearer {token}",
        "Content-Type: application/scim+json",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


def read_answer(sock: socket.socket) -> Answer:
    received = b""
    while b"\r\n\r\n" not in received:
        data = sock.recv(65536)
        assert data, f"the server closed the connection without an answer: {received!r}"
        received += data
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers["content-length"])
    while len(body) < length:
        data = sock.recv(65536)
        assert data, "the server closed the connection in the middle of its answer"
        body += data
    return Answer(int(status_line.split()[1]), headers, json.loads(body))


def chunked(document: dict) -> bytes:
    body = json.dumps(document).encode()
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


USERS = "/scim/v2/acme/Users"
CHUNKED = {"Transfer-Encoding": "chunked"}


def test_a_malformed_chunk_size_is_a_400_and_the_connection_closes(deployment: Deployment):
    answer = exchange(deployment, USERS, CHUNKED, b"2\r\n{}\r\nzz\r\n", hang_up=False)

    assert answer.status == 400, answer
    assert answer.body["scimType"] == "invalidSyntax"
    assert "could not be read" in answer.body["detail"]
    assert answer.closed


def test_a_chunked_body_cut_off_before_its_last_chunk_is_a_400(deployment: Deployment):
    answer = exchange(deployment, USERS, CHUNKED, b'10\r\n{"userName": ', hang_up=True)

    assert answer.status == 400, answer
    assert answer.body["scimType"] == "invalidSyntax"
    assert "could not be read" in answer.body["detail"]
    assert answer.closed


def test_a_body_shorter_than_its_content_length_is_a_400_naming_both_lengths(
    deployment: Deployment,
):
    # Given a complete JSON user, announced as 100 bytes longer than it is
    body = json.dumps(okta_user("ada@example.com")).encode()

    answer = exchange(
        deployment, USERS, {"Content-Length": str(len(body) + 100)}, body, hang_up=True
    )

    # Then it is refused as cut off, not created from what arrived
    assert answer.status == 400, answer
    assert answer.body["scimType"] == "invalidSyntax"
    assert answer.body["detail"] == (
        f"the body ended after {len(body)} of the {len(body) + 100} bytes its Content-Length"
        " announced"
    )
    assert answer.closed


def test_the_admin_api_refuses_a_malformed_chunk_the_same_way(deployment: Deployment):
    answer = exchange(deployment, "/admin/v1/orgs", CHUNKED, b"2\r\n{}\r\nzz\r\n", hang_up=False)

    assert answer.status == 400, answer
    assert "could not be read" in answer.body["detail"]
    assert answer.closed


def test_well_formed_chunked_bodies_are_read_on_one_kept_alive_connection(
    deployment: Deployment,
):
    # Given one connection
    with socket.create_connection(("127.0.0.1", deployment.stack.port), timeout=10) as sock:
        # When a SCIM user and then an organization are sent chunked on it
        user = okta_user("grace@example.com")
        send(sock, deployment, "POST", USERS, CHUNKED, chunked(user))
        created_user = read_answer(sock)
        organization = {"slug": "globex", "name": "Globex"}
        send(sock, deployment, "POST", "/admin/v1/orgs", CHUNKED, chunked(organization))
        created_organization = read_answer(sock)

    # Then both are created (the admin API reads a chunked body too)
    assert created_user.status == 201, created_user
    assert created_user.body["userName"] == "grace@example.com"
    assert created_organization.status == 201, created_organization
    assert created_organization.body["slug"] == "globex"


def test_a_refused_body_is_read_to_its_end_so_the_connection_serves_the_next_request(
    deployment: Deployment,
):
    # Given one connection, and a 300 KB body refused before anything reads it (the token
    # is not the organization's), far past the 64 KiB that gunicorn drains itself
    refused = json.dumps({"padding": "x" * 300_000}).encode()
    with socket.create_connection(("127.0.0.1", deployment.stack.port), timeout=10) as sock:
        send(
            sock,
            deployment,
            "POST",
            "/scim/v2/globex-corp/Users",
            {"Content-Length": str(len(refused))},
            refused,
        )
        refusal = read_answer(sock)

        # When the IdP sends its next request on the same connection
        user = json.dumps(okta_user("kept@example.com")).encode()
        send(sock, deployment, "POST", USERS, {"Content-Length": str(len(user))}, user)
        created = read_answer(sock)

    # Then it is answered, not dropped unanswered after a keep-alive refusal
    assert refusal.status == 401, refusal
    assert refusal.headers["connection"] == "keep-alive"
    assert created.status == 201, created


def test_a_body_announced_and_never_sent_holds_no_thread_for_long(deployment: Deployment):
    # Given a request that announces a body and sends none, to a route that refuses it unread
    with socket.create_connection(("127.0.0.1", deployment.stack.port), timeout=30) as sock:
        announced = {"Content-Length": "1000"}
        send(sock, deployment, "POST", "/scim/v2/globex-corp/Users", announced, b"")
        refusal = read_answer(sock)
        started = time.monotonic()

        # When the client sends nothing more
        sock.settimeout(30)
        closed = sock.recv(1) == b""

    # Then the server lets the connection go within its drain deadlines, not when the client
    # decides to (the thread that drains it is busy until then)
    assert refusal.status == 401
    assert closed
    assert time.monotonic() - started < 15
