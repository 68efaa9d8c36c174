"""End-to-end fixtures: a whole deployment of real processes per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.processes import Stack

E2E_REDIS_DB = 1


@pytest.fixture
def stack(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    """gunicorn and a Dramatiq worker on a fresh database and an empty Redis database."""
    e2e_redis = redis_url.rsplit("/", 1)[0] + f"/{E2E_REDIS_DB}"
    redis.Redis.from_url(e2e_redis).flushdb()
    deployment = Stack(database_url, e2e_redis, tmp_path / "logs")
    try:
        yield deployment
    finally:
        deployment.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
