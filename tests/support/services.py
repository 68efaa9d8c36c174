"""Real backing services for the suite: a redis-server process and migrated databases."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from api.dev import find_redis_server, free_port
from models.migrate import upgrade
from models.tables import metadata
from tests.support.processes import listening

POSTGRES_ENV = "SCIMGATE_TEST_POSTGRES_URL"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


class RedisServer:
    """A throwaway redis-server on a free loopback port."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        from api.dev import _wait_for_port

        self.process = subprocess.Popen(
            [
                find_redis_server(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, self.process)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class PostgresDatabase:
    """A database of its own on the PostgreSQL server named by SCIMGATE_TEST_POSTGRES_URL."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"scimgate_test_{uuid.uuid4().hex[:10]}"
        self.url = make_url(admin_url).set(database=self.name).render_as_string(hide_password=False)

    def create(self) -> None:
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        admin.dispose()
        upgrade(self.url)

    def drop(self) -> None:
        """Drop the database; a leftover (say a backend that would not die) only warns."""
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            for attempt in range(3):
                try:
                    with admin.connect() as connection:
                        connection.execute(
                            text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                        )
                    return
                except DBAPIError as error:
                    if attempt == 2:
                        warnings.warn(f"could not drop {self.name}: {error}", stacklevel=2)
                    time.sleep(1)
        finally:
            admin.dispose()

    def truncate(self) -> None:
        engine = create_engine(self.url)
        tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()


def postgres_admin_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    message = f"{POSTGRES_ENV} is not set: no PostgreSQL to test against"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)
    return None


class PgBouncer:
    """A throwaway PgBouncer on a free loopback port, pooling transactions in front of the
    PostgreSQL server `upstream_url` names, with few server connections so that clients share.

    PgBouncer refuses to run as root; as root it is started as `nobody`.
    """

    def __init__(self, upstream_url: str, server_connections: int = 2) -> None:
        self.binary = find_pgbouncer()
        self.upstream = make_url(upstream_url)
        self.port = free_port()
        self.server_connections = server_connections
        self.directory = Path(tempfile.mkdtemp(prefix="scimgate-pgbouncer-"))
        self.process: subprocess.Popen[bytes] | None = None

    def url_for(self, database_url: str, pool_mode: str | None = "transaction") -> str:
        """`database_url`, reached through this PgBouncer, with `pool_mode` in its query."""
        url = make_url(database_url).set(host="127.0.0.1", port=self.port)
        if pool_mode is not None:
            url = url.update_query_dict({"pool_mode": pool_mode})
        return url.render_as_string(hide_password=False)

    def start(self) -> None:
        config = self.directory / "pgbouncer.ini"
        users = self.directory / "users.txt"
        users.write_text(f'"{self.upstream.username}" "{self.upstream.password}"\n')
        config.write_text(
            "[databases]\n"
            f"* = host={self.upstream.host} port={self.upstream.port or 5432}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {users}\npool_mode = transaction\n"
            f"default_pool_size = {self.server_connections}\nmax_client_conn = 200\n"
            "server_round_robin = 0\n"
        )
        self.directory.chmod(0o755)
        for path in (config, users):
            path.chmod(0o644)
        command = [self.binary, str(config)]
        if os.geteuid() == 0:
            command[1:1] = ["-u", "nobody"]
        log = self.directory / "log"
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {log.read_text()[-2000:]}")
            if listening(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError(f"pgbouncer did not start in time: {log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.directory, ignore_errors=True)


def find_pgbouncer() -> str:
    """The pgbouncer binary (Debian puts it in /usr/sbin); fails in CI, skips elsewhere."""
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if found:
        return found
    message = "pgbouncer is not installed: no connection pooler to test behind"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError(message)


class SqliteTemplate:
    """A migrated SQLite file, copied for each test: migrating once keeps the suite quick."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.template = directory / "template.db"
        self._copies = 0

    def create(self) -> None:
        upgrade(f"sqlite:///{self.template}")

    def fresh_url(self) -> str:
        self._copies += 1
        target = self.directory / f"test-{self._copies}.db"
        shutil.copyfile(self.template, target)
        return f"sqlite:///{target}"
