"""Slow clients cannot starve the service as we ship it: nginx in front of gunicorn.

Two hundred connections each send a request's headers a line a second, as a slowloris
would. Straight to gunicorn they hold every worker's connection slots, and an IdP's request
waits; through nginx, which reads each request whole before passing it on, it does not.
"""

from __future__ import annotations

import contextlib
import re
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.nginx import NginxProxy
from tests.support.processes import Stack

SLOW_CONNECTIONS = 200
# How long the slow connections keep trickling: under nginx's client_header_timeout (10 s).
TRICKLE_SECONDS = 8
NORMAL_REQUESTS = 5
# A normal request through nginx must be answered within this, slow clients or not.
ANSWER_WITHIN_SECONDS = 1.0


class Slowloris:
    """Connections that send a request's headers one line a second, bounded in time."""

    def __init__(self, port: int, connections: int, seconds: float) -> None:
        self._port = port
        self._connections = connections
        self._seconds = seconds
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._open = threading.Event()
        self.opened = 0

    def __enter__(self) -> Slowloris:
        self._thread.start()
        self._open.wait(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join(timeout=self._seconds + 30)

    def _run(self) -> None:
        sockets = []
        for _ in range(self._connections):
            try:
                connection = socket.create_connection(("127.0.0.1", self._port), timeout=2)
                connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: scim.test\r\n")
                sockets.append(connection)
            except OSError:
                break
        self.opened = len(sockets)
        self._open.set()
        deadline = time.monotonic() + self._seconds
        line = 0
        while time.monotonic() < deadline:
            time.sleep(1)
            line += 1
            for connection in sockets:
                # A connection the server gave up on is simply one fewer.
                with contextlib.suppress(OSError):
                    connection.sendall(f"X-Slow-{line}: y\r\n".encode())
        for connection in sockets:
            connection.close()


def answer_times(url: str, token: str, requests: int = NORMAL_REQUESTS) -> list[float | None]:
    """Seconds each of a few normal SCIM requests took; None for one that timed out (2 s)."""
    times: list[float | None] = []
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(requests):
        started = time.perf_counter()
        try:
            response = httpx.get(url, headers=headers, timeout=2)
            assert response.status_code == 200, response.text
            times.append(time.perf_counter() - started)
        except httpx.TimeoutException:
            times.append(None)
        time.sleep(0.2)
    return times


@pytest.fixture
def proxied(postgres_stack: Stack, tmp_path: Path) -> Iterator[tuple[Stack, NginxProxy, str]]:
    postgres_stack.cli("org", "create", "acme", "--name", "Acme", "--domain", "example.com")
    postgres_stack.connect_sso("acme")
    enabled = postgres_stack.cli("scim", "enable", "acme").stdout
    token = re.search(r"^SCIM_TOKEN=(\S+)$", enabled, re.MULTILINE).group(1)
    postgres_stack.start_web()
    proxy = NginxProxy(f"127.0.0.1:{postgres_stack.port}", tmp_path / "nginx").start()
    try:
        yield postgres_stack, proxy, token
    finally:
        proxy.stop()


def describe(times: list[float | None]) -> str:
    answered = [t for t in times if t is not None]
    if not answered:
        return f"all {len(times)} timed out"
    return (
        f"p50 {statistics.median(answered) * 1000:.0f} ms, max {max(answered) * 1000:.0f} ms, "
        f"{len(times) - len(answered)} of {len(times)} timed out"
    )


def test_a_normal_request_through_nginx_is_answered_while_200_slow_clients_hang_on(proxied):
    stack, proxy, token = proxied
    path = "/scim/v2/acme/Users?count=1"

    # Given 200 slow connections straight to gunicorn: the figure the proxy is there for
    with Slowloris(stack.port, SLOW_CONNECTIONS, TRICKLE_SECONDS) as slow:
        # (three, at 2 s each at most: all within the trickle)
        direct = answer_times(stack.base + path, token, requests=3)
    print(f"direct, {slow.opened} slow connections open: {describe(direct)}")

    # When 200 slow connections go to nginx instead
    with Slowloris(proxy.port, SLOW_CONNECTIONS, TRICKLE_SECONDS) as slow:
        assert slow.opened == SLOW_CONNECTIONS
        through_nginx = answer_times(proxy.base + path, token)
    print(f"through nginx, {slow.opened} slow connections open: {describe(through_nginx)}")

    # Then every normal request through nginx is answered in under a second
    assert all(t is not None and t < ANSWER_WITHIN_SECONDS for t in through_nginx), describe(
        through_nginx
    )
