"""Slow clients cannot starve the service as we ship it: nginx in front of gunicorn.

Two hundred connections each send a request's headers a line a second, as a slowloris
would. Straight to gunicorn they hold every worker's connection slots, and an IdP's request
waits; through nginx, which reads each request whole before passing it on, it does not.
The other tests check what else the shipped configuration promises: request ids, body
limits, scheme headers and /metrics.

One gunicorn (two processes, as compose runs it) and one nginx on the template in
deploy/nginx/ serve the whole module. The database plays no part in holding connections, so
the module runs on SQLite only.
"""

from __future__ import annotations

import contextlib
import json
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import redis

from api.errors import ERROR_SCHEMA, SCIM_CONTENT_TYPE
from models.core.db import Database
from tests.support.nginx import NginxProxy, find_nginx
from tests.support.processes import Stack, wait_until
from tests.support.scim import SCIM_JSON, OrganizationFixture, okta_user
from tests.support.services import SqliteTemplate

# The Redis database the suite's end-to-end stacks use (see tests/conftest.py).
E2E_REDIS_DB = 1
SLOW_CONNECTIONS = 200
# The most header lines a slow connection sends, one a second: under nginx's
# client_header_timeout (10 s), so that nginx still holds every one when it is measured.
TRICKLE_LINES = 8
NORMAL_REQUESTS = 5
# A normal request through nginx must be answered within this, slow clients or not.
ANSWER_WITHIN_SECONDS = 1.0
# How long a request straight to gunicorn may wait before it counts as timed out.
DIRECT_TIMEOUT_SECONDS = 2.0
USERS = "/scim/v2/acme/Users"
# scimgate's body limit (SCIMGATE_MAX_BODY_BYTES) and the proxy's (client_max_body_size).
SCIMGATE_BODY_LIMIT = 1_048_576
PROXY_BODY_LIMIT = 2 * 1_048_576


@dataclass(frozen=True)
class Deployment:
    stack: Stack
    proxy: NginxProxy
    token: str

    def scim(self, base: str, timeout: float = 10) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": SCIM_JSON}
        return httpx.Client(base_url=base, headers=headers, timeout=timeout)


@pytest.fixture(scope="module")
def deployment(
    sqlite_template: SqliteTemplate, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    find_nginx()  # skip or fail before starting anything
    database_url = sqlite_template.fresh_url()
    database = Database.from_url(database_url, pool_size=1)
    tenant = OrganizationFixture.create(database, "acme", ["example.com"])
    database.dispose()
    e2e_redis = redis_url.rsplit("/", 1)[0] + f"/{E2E_REDIS_DB}"
    redis.Redis.from_url(e2e_redis).flushdb()
    directory = tmp_path_factory.mktemp("slow-clients")
    stack = Stack(database_url, e2e_redis, directory / "logs")
    proxy = NginxProxy(f"127.0.0.1:{stack.port}", directory / "nginx")
    try:
        stack.start_web()
        proxy.start()
        yield Deployment(stack, proxy, tenant.token)
    finally:
        proxy.stop()
        stack.stop()


class Slowloris:
    """Connections that send a request's headers a line a second and never finish them.

    Each sends at most TRICKLE_LINES lines; all stop and close when the block ends.
    """

    def __init__(self, port: int, connections: int = SLOW_CONNECTIONS) -> None:
        self._port = port
        self._connections = connections
        self._sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self) -> Slowloris:
        for _ in range(self._connections):
            connection = socket.create_connection(("127.0.0.1", self._port), timeout=2)
            # Blocking from here on, so that still_open's MSG_DONTWAIT is what decides.
            connection.settimeout(None)
            connection.sendall(f"GET {USERS} HTTP/1.1\r\nHost: scim.test\r\n".encode())
            self._sockets.append(connection)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self._sockets:
            connection.close()

    @property
    def opened(self) -> int:
        return len(self._sockets)

    def still_open(self) -> int:
        """How many the server has neither closed nor answered: it is still waiting on them."""
        waiting = 0
        for connection in self._sockets:
            try:
                connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                waiting += 1
            except OSError:
                pass
        return waiting

    def _trickle(self) -> None:
        for line in range(1, TRICKLE_LINES + 1):
            if self._stop.wait(1):
                return
            for connection in self._sockets:
                # A connection the server gave up on is simply one fewer.
                with contextlib.suppress(OSError):
                    connection.sendall(f"X-Slow-{line}: y\r\n".encode())


def answer_times(client: httpx.Client, requests: int = NORMAL_REQUESTS) -> list[float | None]:
    """Seconds each of a few normal SCIM reads took; None for one that timed out.

    Each opens a connection of its own: gunicorn closes surplus keep-alive connections after
    their answer, so an IdP's next request often needs a new one.
    """
    times: list[float | None] = []
    for _ in range(requests):
        started = time.perf_counter()
        try:
            response = client.get(USERS, params={"count": 1}, headers={"Connection": "close"})
        except httpx.TimeoutException:
            times.append(None)
        else:
            assert response.status_code == 200, response.text
            times.append(time.perf_counter() - started)
        time.sleep(0.2)
    return times


def describe(times: list[float | None]) -> str:
    answered = [t for t in times if t is not None]
    if not answered:
        return f"all {len(times)} timed out"
    return (
        f"p50 {statistics.median(answered) * 1000:.0f} ms, max {max(answered) * 1000:.0f} ms, "
        f"{len(times) - len(answered)} of {len(times)} timed out"
    )


def test_a_normal_request_through_nginx_is_answered_while_200_slow_clients_hang_on(
    deployment: Deployment,
):
    stack, proxy = deployment.stack, deployment.proxy

    # Given 200 slow connections straight to gunicorn: the figure the proxy is there for,
    # recorded and not asserted
    with Slowloris(stack.port) as slow, deployment.scim(stack.base, DIRECT_TIMEOUT_SECONDS) as idp:
        direct = answer_times(idp, requests=3)
    print(f"straight to gunicorn, {slow.opened} slow connections open: {describe(direct)}")

    # When 200 slow connections go to nginx instead
    with Slowloris(proxy.port) as slow, deployment.scim(proxy.base) as idp:
        through_nginx = answer_times(idp)
        waiting = slow.still_open()
    print(f"through nginx, {slow.opened} slow connections open: {describe(through_nginx)}")

    # Then every normal request through nginx is answered in under a second, while nginx
    # still holds every slow connection
    answered = [t for t in through_nginx if t is not None]
    assert len(answered) == NORMAL_REQUESTS, describe(through_nginx)
    assert max(answered) < ANSWER_WITHIN_SECONDS, describe(through_nginx)
    assert waiting == SLOW_CONNECTIONS


def test_the_request_id_passes_through_both_ways(deployment: Deployment):
    with deployment.scim(deployment.proxy.base) as idp:
        # A caller's own request id reaches scimgate and comes back
        mine = idp.get(USERS, headers={"X-Request-Id": "okta-4f2a9c"})
        # Without one, the id scimgate gives the request comes back through nginx
        theirs = idp.get(USERS)

    assert mine.status_code == 200, mine.text
    assert mine.headers["X-Request-Id"] == "okta-4f2a9c"
    assert theirs.headers["X-Request-Id"] not in ("", "okta-4f2a9c")
    # ... and scimgate's access line names the caller's id
    wait_until(
        lambda: "okta-4f2a9c" in logged_request_ids(deployment.stack),
        timeout=5,
        what="the access line with the caller's request id",
    )


def logged_request_ids(stack: Stack) -> set[str]:
    """The request ids in gunicorn's JSON log lines so far."""
    ids = set()
    for line in (stack.log_dir / "web.log").read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and "request_id" in record:
                ids.add(record["request_id"])
    return ids


def test_metrics_are_not_forwarded_whatever_the_spelling(deployment: Deployment):
    with httpx.Client(base_url=deployment.proxy.base, timeout=10) as public:
        for path in ("/metrics", "/metrics?format=text", "//metrics", "/%6Detrics"):
            response = public.get(path)
            assert response.status_code == 404, path
            assert "scimgate_" not in response.text, path
        assert public.get("/healthz").status_code == 200


def test_a_body_over_either_limit_is_a_scim_413(deployment: Deployment):
    user = okta_user("ada@example.com")
    with deployment.scim(deployment.proxy.base) as idp:
        # Over scimgate's limit, under the proxy's: scimgate answers, naming its limit
        user["displayName"] = "x" * (SCIMGATE_BODY_LIMIT + 1024)
        over_scimgate = idp.post(USERS, json=user, headers={"Content-Type": SCIM_JSON})
        # Over the proxy's: nginx answers, the same way, without passing the body on
        user["displayName"] = "x" * (PROXY_BODY_LIMIT + 1024)
        over_proxy = idp.post(USERS, json=user, headers={"Content-Type": SCIM_JSON})

    for answer, limit in ((over_scimgate, SCIMGATE_BODY_LIMIT), (over_proxy, PROXY_BODY_LIMIT)):
        assert answer.status_code == 413, answer.text
        assert answer.headers["Content-Type"].split(";")[0] == SCIM_CONTENT_TYPE
        assert answer.json() == {
            "schemas": [ERROR_SCHEMA],
            "status": "413",
            "detail": f"the body is larger than {limit} bytes",
        }


def test_a_client_s_own_scheme_headers_cannot_contradict_the_proxy_s(deployment: Deployment):
    # gunicorn trusts X-Forwarded-* from nginx, and refuses scheme headers that disagree
    spoofed = {"X-Forwarded-Ssl": "on", "X-Forwarded-Protocol": "ssl"}
    with deployment.scim(deployment.proxy.base) as idp:
        answer = idp.get(USERS, headers=spoofed)

    assert answer.status_code == 200, answer.text
