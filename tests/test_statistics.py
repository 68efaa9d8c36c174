"""Planner statistics kept up with a directory that grows faster than autovacuum looks."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, text

from models.base import new_id, utcnow
from models.db import Database
from models.statistics import MIN_ROWS, analyze_grown_tables
from models.tables import DirectoryUser
from tests.support.scim import OrganizationFixture
from tests.support.services import PostgresDatabase, SqliteTemplate


@pytest.fixture
def postgres(postgres_database: PostgresDatabase) -> Iterator[Database]:
    """The test database, its users table just analyzed empty and out of autovacuum's way
    (autovacuum analyzing it mid-test would move what the tests read)."""
    postgres_database.truncate()
    database = Database.from_url(postgres_database.url, pool_size=2)
    with database.writing() as session:
        session.execute(text("ALTER TABLE directory_users SET (autovacuum_enabled = false)"))
    with database.writing() as session:
        session.execute(text("ANALYZE directory_users"))
    try:
        yield database
    finally:
        with database.writing() as session:
            session.execute(text("ALTER TABLE directory_users RESET (autovacuum_enabled)"))
        database.dispose()


def add_users(database: Database, organization_id: int, names: range) -> None:
    now = utcnow()
    rows = [
        {"id": new_id(), "organization_id": organization_id, "user_name": f"user{i}@example.com",
         "active": True, "document": {}, "version": 1, "generation": 1, "applied_generation": 1,
         "created_at": now, "updated_at": now}
        for i in names
    ]  # fmt: skip
    with database.writing() as session:
        session.execute(insert(DirectoryUser), rows)


def rows_last_analyzed(database: Database) -> float:
    with database.reading() as session:
        return session.scalar(
            text("SELECT reltuples FROM pg_class WHERE relname = 'directory_users'")
        )


def analyze_when_counted(database: Database) -> list[str]:
    """analyze_grown_tables once PostgreSQL's row counts include the last writes.

    A backend publishes its counts within a second or so of going idle, not at commit.
    """
    deadline = time.monotonic() + 10
    while not (analyzed := analyze_grown_tables(database)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return analyzed


def test_a_table_is_analyzed_once_it_has_doubled_and_not_before(postgres: Database):
    tenant = OrganizationFixture.create(postgres, "acme", ["example.com"])
    assert rows_last_analyzed(postgres) == 0

    add_users(postgres, tenant.id, range(MIN_ROWS + 100))

    assert "directory_users" in analyze_when_counted(postgres)
    assert rows_last_analyzed(postgres) == MIN_ROWS + 100

    # Half as many again is not a doubling: the statistics stand.
    add_users(postgres, tenant.id, range(MIN_ROWS + 100, MIN_ROWS + 400))
    time.sleep(1.5)  # for PostgreSQL to count them
    assert "directory_users" not in analyze_grown_tables(postgres)
    assert rows_last_analyzed(postgres) == MIN_ROWS + 100


def test_a_small_table_is_left_to_autovacuum(postgres: Database):
    tenant = OrganizationFixture.create(postgres, "acme", ["example.com"])
    add_users(postgres, tenant.id, range(MIN_ROWS - 100))
    time.sleep(1.5)  # for PostgreSQL to count them

    assert "directory_users" not in analyze_grown_tables(postgres)


def test_sqlite_has_nothing_to_analyze(sqlite_template: SqliteTemplate):
    database = Database.from_url(sqlite_template.fresh_url())
    try:
        assert analyze_grown_tables(database) == []
    finally:
        database.dispose()
