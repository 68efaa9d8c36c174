"""Real backing services for the suite: a redis-server process and migrated databases."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
import warnings
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from api.dev import find_redis_server, free_port
from models.base import Base
from models.migrate import upgrade

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
            [find_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.directory), "--save", "", "--appendonly", "no",
             "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
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
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
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
