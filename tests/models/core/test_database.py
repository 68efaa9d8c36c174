"""The two PostgreSQL pools a process reads and writes through (models/core/db.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from models.core.db import Database, create_database_engine
from tests.support.services import PostgresDatabase


def test_reads_run_in_autocommit_and_keep_plans_while_writes_plan_each_statement(
    postgres_database: PostgresDatabase,
):
    database = Database.from_url(postgres_database.url, pool_size=1)
    try:
        # A read is one round trip: no BEGIN before it, no ROLLBACK after it.
        with database.read_connection() as connection:
            assert connection.connection.driver_connection.autocommit
            assert connection.scalar(text("SHOW plan_cache_mode")) == "auto"
        with database.reading() as session:
            assert session.connection().connection.driver_connection.autocommit
        # Writes are transactions, each statement planned for its own parameters.
        with database.writing() as session:
            assert not session.connection().connection.driver_connection.autocommit
            assert session.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
    finally:
        database.dispose()


def test_an_unknown_pool_mode_is_refused_by_name(postgres_database: PostgresDatabase):
    with pytest.raises(ValueError, match="pool_mode"):
        create_database_engine(postgres_database.url + "?pool_mode=statement")
