"""Alembic environment: batch mode everywhere so the same migrations run on SQLite."""

from alembic import context

from models import tables  # noqa: F401  (registers the tables on Base.metadata)
from models.base import Base
from models.db import create_database_engine

config = context.config


def run_migrations_online() -> None:
    engine = create_database_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
