"""Planner statistics kept up with a directory that grows faster than autovacuum looks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import insert, text

from models.core.db import Database
from models.directory.tables import DirectoryUser
from models.operations.statistics import MIN_ROWS, analyze_grown_tables
from tests.support.directory import user_rows
from tests.support.scim import OrganizationFixture
from tests.support.services import PostgresDatabase, SqliteTemplate
from workers.roster import reconcile


@pytest.fixture
def database_url(postgres_database: PostgresDatabase) -> str:
    """PostgreSQL only: SQLite has nothing to analyze (the last test)."""
    postgres_database.truncate()
    return postgres_database.url


@pytest.fixture
def postgres(database: Database) -> Iterator[Database]:
    """The test database, its users table just analyzed empty and out of autovacuum's way
    (autovacuum analyzing it mid-test would move what the tests read)."""
    with database.writing() as session:
        session.execute(text("ALTER TABLE directory_users SET (autovacuum_enabled = false)"))
    with database.writing() as session:
        session.execute(text("ANALYZE directory_users"))
    try:
        yield database
    finally:
        with database.writing() as session:
            session.execute(text("ALTER TABLE directory_users RESET (autovacuum_enabled)"))


def add_users(database: Database, tenant: OrganizationFixture, names: range, **kwargs) -> None:
    """Directory users, straight into the table, counted by PostgreSQL when this returns.

    A backend publishes its row counts when it goes idle, but no more than once a second:
    otherwise up to ten seconds later. Until then the table looks as small as before.
    """
    rows = user_rows(tenant.id, [f"user{i}@example.com" for i in names], **kwargs)
    with database.writing() as session:
        session.execute(insert(DirectoryUser), rows)
        session.execute(text("SELECT pg_stat_force_next_flush()"))
    counted = "SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'directory_users'"
    with database.reading() as session:
        assert session.scalar(text(counted)) == names.stop


def rows_last_analyzed(database: Database) -> float:
    with database.reading() as session:
        return session.scalar(
            text("SELECT reltuples FROM pg_class WHERE relname = 'directory_users'")
        )


def test_a_table_is_analyzed_once_it_has_doubled_and_not_before(postgres: Database):
    tenant = OrganizationFixture.create(postgres, "acme", ["example.com"])
    assert rows_last_analyzed(postgres) == 0

    add_users(postgres, tenant, range(MIN_ROWS + 100))

    assert "directory_users" in analyze_grown_tables(postgres)
    assert rows_last_analyzed(postgres) == MIN_ROWS + 100

    # Half as many again is not a doubling: the statistics stand.
    add_users(postgres, tenant, range(MIN_ROWS + 100, MIN_ROWS + 400))
    assert "directory_users" not in analyze_grown_tables(postgres)
    assert rows_last_analyzed(postgres) == MIN_ROWS + 100


def test_a_small_table_is_left_to_autovacuum(postgres: Database):
    tenant = OrganizationFixture.create(postgres, "acme", ["example.com"])
    add_users(postgres, tenant, range(MIN_ROWS - 100))

    assert "directory_users" not in analyze_grown_tables(postgres)
    assert rows_last_analyzed(postgres) == 0


def test_the_reconcile_job_analyzes_the_directory_it_grew(
    postgres: Database, drain: Callable[[], None]
):
    tenant = OrganizationFixture.create(postgres, "acme", ["example.com"])
    add_users(postgres, tenant, range(MIN_ROWS + 100), dirty=True)

    reconcile.send(tenant.id)
    drain()

    assert rows_last_analyzed(postgres) == MIN_ROWS + 100


def test_sqlite_has_nothing_to_analyze(
    sqlite_template: SqliteTemplate, caplog: pytest.LogCaptureFixture
):
    database = Database.from_url(sqlite_template.fresh_url())
    try:
        with caplog.at_level(logging.INFO, logger="models.operations.statistics"):
            assert analyze_grown_tables(database) == []
        # Not even asked: a query for PostgreSQL's statistics would fail, and say so.
        assert caplog.records == []
    finally:
        database.dispose()
