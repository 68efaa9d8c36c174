"""Alembic environment: batch mode everywhere so the same migrations run on SQLite."""

from typing import Any

from alembic import context
from sqlalchemy import event

from models.core.db import create_database_engine
from models.tables import metadata

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic needs sqlalchemy.url (models/migrate.py sets it)")
    engine = create_database_engine(url)
    if engine.dialect.name == "sqlite":
        # Batch mode rebuilds a SQLite table by dropping it; with foreign keys on, that drop
        # would cascade-delete every row that refers to the table.
        @event.listens_for(engine, "connect")
        def _foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA foreign_keys=OFF")

    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
