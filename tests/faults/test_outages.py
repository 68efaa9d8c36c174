"""Redis and the database go away and come back: the API stays honest, nothing is lost."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from models.migrate import upgrade
from tests.support.burst import ScimBurst, emails
from tests.support.postgres_cluster import PostgresCluster
from tests.support.processes import Stack, wait_until
from tests.support.scim import okta_user
from tests.support.services import RedisServer


def enable_scim(stack: Stack) -> tuple[str, str]:
    stack.cli("org", "create", "acme", "--name", "Acme", "--domain", "example.com")
    stack.connect_sso("acme")
    output = stack.cli("scim", "enable", "acme").stdout
    token = re.search(r"^SCIM_TOKEN=(\S+)$", output, re.MULTILINE).group(1)
    return f"{stack.base}/scim/v2/acme", token


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def test_redis_down_during_a_burst_the_api_answers_and_everything_converges_after(
    database_url: str, own_redis: RedisServer, tmp_path: Path
):
    stack = Stack(database_url, own_redis.url, tmp_path / "logs")
    try:
        base_url, token = enable_scim(stack)
        stack.start_web()
        stack.start_worker()
        stack.start_clock()
        first, second = emails(600)[:300], emails(600)[300:]
        burst = ScimBurst(base_url, token)

        # Half the burst with Redis up, the other half with Redis gone.
        burst.create_users(first)
        own_redis.stop()
        burst.create_users(second)
        assert burst.statuses == {201: 600}

        # Redis returns empty (no persistence): every queued message is gone, and nobody
        # re-sends anything. The sweep finds the dirty rows and the roster converges.
        own_redis.start()
        wait_until(
            lambda: len(stack.roster("acme")) == 600, timeout=120, what="the roster to converge"
        )
        assert {m["status"] for m in stack.roster("acme").values()} == {"active"}
    except AssertionError:
        print(stack.logs())
        raise
    finally:
        stack.stop()


@pytest.fixture
def private_postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    cluster.init()
    cluster.start()
    yield cluster
    cluster.destroy()


def test_database_down_answers_503_with_retry_after_then_recovers_on_its_own(
    private_postgres: PostgresCluster, redis_url: str, tmp_path: Path
):
    upgrade(private_postgres.url)
    stack = Stack(private_postgres.url, redis_url.rsplit("/", 1)[0] + "/2", tmp_path / "logs")
    try:
        base_url, token = enable_scim(stack)
        stack.start_web()
        client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert client.get("/Users").status_code == 200

        private_postgres.stop()
        for response in (
            client.get("/Users"),
            client.post("/Users", json=okta_user("ada@example.com")),
        ):
            assert response.status_code == 503
            assert response.headers["retry-after"].isdigit()
            assert response.headers["content-type"].startswith("application/scim+json")
            assert response.json()["status"] == "503"
            assert "Traceback" not in response.text

        private_postgres.start()
        wait_until(lambda: client.get("/Users").status_code == 200, timeout=30, what="recovery")
        assert client.post("/Users", json=okta_user("ada@example.com")).status_code == 201
    except AssertionError:
        print(stack.logs())
        raise
    finally:
        stack.stop()
