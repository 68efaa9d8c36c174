"""Migrations upgrade a database with data in it and downgrade it again, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text

from models.migrate import alembic_config, downgrade, upgrade
from models.tables import metadata
from tests.support.services import PostgresDatabase, postgres_admin_url

NEW_TABLES = {"sso_connections", "operator_tokens", "audit_records"}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    admin_url = postgres_admin_url()
    assert admin_url is not None
    database = PostgresDatabase(admin_url)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database.name}"'))
    admin.dispose()
    try:
        yield database.url
    finally:
        # Retries, and only warns if a backend we may not end (autovacuum's) stays connected.
        database.drop()


def revision_before(revision: str) -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_revision(revision).down_revision


def test_0003_keeps_existing_organizations_and_domains_up_and_down(empty_database_url: str):
    before = revision_before("0003")
    upgrade(empty_database_url, before)
    engine = create_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO organizations (slug, name, scim_enabled, event_sequence, "
                    "created_at) VALUES ('acme', 'Acme', true, 0, CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO domains (organization_id, name, verified_at, verified_by, "
                    "created_at) VALUES (1, 'acme.com', CURRENT_TIMESTAMP, 'cli', "
                    "CURRENT_TIMESTAMP), (1, 'pending.org', NULL, NULL, CURRENT_TIMESTAMP)"
                )
            )

        upgrade(empty_database_url, "0003")

        with engine.connect() as connection:
            organization = connection.execute(
                text("SELECT jit_enabled, jit_with_scim, seat_limit FROM organizations")
            ).one()
            domains = connection.execute(
                text("SELECT name, verification_method, challenge FROM domains ORDER BY name")
            ).all()
        assert tuple(organization) == (True, False, None)
        assert [tuple(d) for d in domains] == [
            ("acme.com", "operator", None),
            ("pending.org", None, None),
        ]
        assert set(inspect(engine).get_table_names()) >= NEW_TABLES

        downgrade(empty_database_url, before)

        inspector = inspect(engine)
        assert not NEW_TABLES & set(inspector.get_table_names())
        assert "seat_limit" not in {c["name"] for c in inspector.get_columns("organizations")}
        assert "challenge" not in {c["name"] for c in inspector.get_columns("domains")}
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM domains")).scalar() == 2

        upgrade(empty_database_url, "head")
    finally:
        engine.dispose()


# Reflection skips the indexes on lower(...), with a warning: those alone go uncompared.
skips_expression_indexes = pytest.mark.filterwarnings("ignore:.*expression-based index")


@skips_expression_indexes
def test_the_migrations_build_the_tables_and_indexes_the_models_declare(empty_database_url: str):
    upgrade(empty_database_url, "head")
    engine = create_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        engine.dispose()
    assert differences == []


@skips_expression_indexes
def test_0007_indexes_up_and_down(empty_database_url: str):
    upgrade(empty_database_url, "0007")
    engine = create_engine(empty_database_url)
    try:
        dirty = _index(engine, "directory_users", "ix_directory_users_dirty")
        assert dirty["column_names"] == ["organization_id", "updated_at", "id"]
        assert _index(engine, "members", "ix_members_pending_seat") is not None

        downgrade(empty_database_url, "0006")

        dirty = _index(engine, "directory_users", "ix_directory_users_dirty")
        assert dirty["column_names"] == ["organization_id", "updated_at"]
        assert _index(engine, "members", "ix_members_pending_seat") is None
        upgrade(empty_database_url, "head")
    finally:
        engine.dispose()


def _index(engine: Engine, table: str, name: str) -> dict[str, Any] | None:
    found = [index for index in inspect(engine).get_indexes(table) if index["name"] == name]
    return dict(found[0]) if found else None
