"""Fixtures: real Redis, real SQLite and PostgreSQL, the app, and an in-process worker.

One Redis serves the session, and the session's broker is installed on it first thing, as
a process's entry point installs its broker in production.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import falcon
import pytest
import redis
from dramatiq import Worker
from dramatiq.brokers.redis import RedisBroker

from api.app import Services, create_app, default_services
from api.cli import main as cli_main
from models.core.config import Settings
from models.core.db import Database
from tests.support.admin import AdminClient, operator_token
from tests.support.dns import DnsServer
from tests.support.processes import Stack
from tests.support.scim import OrganizationFixture, ScimClient
from tests.support.services import (
    PostgresDatabase,
    RedisServer,
    SqliteTemplate,
    postgres_admin_url,
)
from workers import runtime
from workers.broker import setup_broker

_scratch = Path(tempfile.mkdtemp(prefix="scimgate-tests-"))
_redis = RedisServer(_scratch / "redis")


def pytest_configure(config: pytest.Config) -> None:
    _redis.start()
    os.environ["SCIMGATE_REDIS_URL"] = _redis.url
    # As a worker process starts: the broker first, then every actor declared on it, so an
    # in-process worker consumes every queue whichever test module imported which actor.
    setup_broker(Settings.from_env())
    import workers.actors  # noqa: F401


def pytest_unconfigure(config: pytest.Config) -> None:
    _redis.stop()


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _redis.url


@pytest.fixture(scope="session")
def scratch_dir() -> Path:
    return _scratch


@pytest.fixture(scope="session")
def sqlite_template(scratch_dir: Path) -> SqliteTemplate:
    template = SqliteTemplate(scratch_dir / "sqlite")
    template.directory.mkdir(parents=True, exist_ok=True)
    template.create()
    return template


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase]:
    admin_url = postgres_admin_url()
    assert admin_url is not None
    database = PostgresDatabase(admin_url)
    database.create()
    yield database
    database.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated, empty database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_template").fresh_url()
        return
    postgres: PostgresDatabase = request.getfixturevalue("postgres_database")
    postgres.truncate()
    yield postgres.url


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        public_url="https://scim.test",
        reconcile_debounce_ms=0,
        webhook_timeout_seconds=1,
    )


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    database = Database.from_url(settings.database_url, pool_size=4)
    yield database
    database.dispose()


@pytest.fixture
def broker(settings: Settings) -> RedisBroker:
    """The process's real Redis broker, emptied for this test."""
    broker = setup_broker(settings)
    broker.client.flushdb()
    return broker


@pytest.fixture
def worker(broker: RedisBroker, settings: Settings, database: Database) -> Iterator[Worker]:
    """A Dramatiq worker in this process, on the test's database."""
    runtime.configure(settings, database)
    worker = Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    yield worker
    worker.stop()
    runtime.configure(Settings.from_env())


@pytest.fixture
def drain(broker: RedisBroker, worker: Worker) -> Callable[[], None]:
    """Wait until every enqueued job, delayed ones included, has run."""

    def wait() -> None:
        for queue in ("roster", "maintenance", "webhooks"):
            broker.join(queue, timeout=30_000)
        worker.join()

    return wait


@pytest.fixture
def tenant(database: Database) -> OrganizationFixture:
    return OrganizationFixture.create(database, "acme", ["example.com"])


@pytest.fixture
def acme(database: Database) -> OrganizationFixture:
    """Organization acme, ready for SCIM on its verified domain acme.com."""
    return OrganizationFixture.create(database, "acme", ["acme.com"])


@pytest.fixture
def globex(database: Database) -> OrganizationFixture:
    """A second organization, ready for SCIM on globex.com: the other tenant."""
    return OrganizationFixture.create(database, "globex", ["globex.com"])


@pytest.fixture
def services(settings: Settings, database: Database, broker: RedisBroker) -> Iterator[Services]:
    """The app's real collaborators; the audit writer is flushed and stopped at the end."""
    services = default_services(settings, database)
    yield services
    assert services.audit_writer is not None
    services.audit_writer.close()


@pytest.fixture
def app(settings: Settings, services: Services) -> falcon.App:
    return create_app(settings, services)


@pytest.fixture
def app_with(
    settings: Settings, database: Database, broker: RedisBroker
) -> Iterator[Callable[..., falcon.App]]:
    """Makes the app with some settings changed (`app_with(rate_limit_burst=3)`), on the
    test's database and Redis; the audit writer of each is flushed and stopped at the end."""
    made: list[Services] = []

    def make(**changes: Any) -> falcon.App:
        changed = dataclasses.replace(settings, **changes)
        made.append(default_services(changed, database))
        return create_app(changed, made[-1])

    yield make
    for services in made:
        assert services.audit_writer is not None
        services.audit_writer.close()


@pytest.fixture
def scim(app: falcon.App, tenant: OrganizationFixture) -> ScimClient:
    return ScimClient(app, tenant.slug, tenant.token)


E2E_REDIS_DB = 1


@pytest.fixture
def stack(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    """A deployment of real processes (start what the test needs) on a fresh database and an
    empty Redis database of its own."""
    e2e_redis = redis_url.rsplit("/", 1)[0] + f"/{E2E_REDIS_DB}"
    redis.Redis.from_url(e2e_redis).flushdb()
    deployment = Stack(database_url, e2e_redis, tmp_path / "logs")
    try:
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture
def postgres_stack(
    postgres_database: PostgresDatabase, redis_url: str, tmp_path: Path
) -> Iterator[Stack]:
    """Like `stack`, on PostgreSQL only: for the heavy tests of production behaviour."""
    postgres_database.truncate()
    e2e_redis = redis_url.rsplit("/", 1)[0] + f"/{E2E_REDIS_DB}"
    redis.Redis.from_url(e2e_redis).flushdb()
    deployment = Stack(postgres_database.url, e2e_redis, tmp_path / "logs")
    try:
        yield deployment
    finally:
        deployment.stop()


PROCESS_TEST_DIRECTORIES = ("e2e", "faults", "replays")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that start real processes are marked `e2e` (`-m "not e2e"` for a quick run)."""
    for item in items:
        if Path(str(item.fspath)).parent.name in PROCESS_TEST_DIRECTORIES:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    """A real DNS server on a loopback UDP port; tests publish TXT records on it."""
    server = DnsServer().start()
    yield server
    server.stop()


@pytest.fixture
def admin(app: falcon.App, database: Database) -> AdminClient:
    """The admin API with a valid operator token."""
    return AdminClient(app, operator_token(database))


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    """Run `scimgate ...` in this process against the test's database and settings."""

    def run(*args: str, expect: int = 0) -> CliResult:
        monkeypatch.setenv("SCIMGATE_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("SCIMGATE_PUBLIC_URL", settings.public_url or "")
        monkeypatch.setenv("SCIMGATE_DNS_RESOLVER", settings.dns_resolver or "")
        monkeypatch.setenv("SCIMGATE_DNS_TIMEOUT_SECONDS", str(settings.dns_timeout_seconds))
        capsys.readouterr()
        try:
            code = cli_main(list(args))
        except SystemExit as exit:  # argparse refuses bad arguments this way
            code = int(exit.code or 0)
        out, err = capsys.readouterr()
        assert code == expect, f"scimgate {' '.join(args)} exited {code}: {err}{out}"
        return CliResult(code, out, err)

    return run
