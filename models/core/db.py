"""Engines and sessions: the one place that knows how each backend wants its transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from psycopg.types.json import set_json_loads
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from models.core.json_sql import register_sqlite_functions

_WRITE_OPTION = "scimgate_write"


def _prepare_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout and BEGIN IMMEDIATE for writers, so concurrent writers queue.

    pysqlite's own transaction handling would start writes as DEFERRED, and a DEFERRED
    transaction that later writes fails at once with "database is locked" instead of waiting.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # Filters fold case as Python does; SQLite's own lower() folds ASCII only.
        register_sqlite_functions(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


# Statements each SQLite connection keeps prepared. Python's default, 128, let every one of a
# web process's connections keep a hundred wide filters' programs (tens of MiB each
# connection) in the soak (bench/soak.py); what the app runs again and again fits in this.
SQLITE_CACHED_STATEMENTS = 32

# `?pool_mode=transaction` on a PostgreSQL URL: a pooler between us and PostgreSQL (PgBouncer
# with `pool_mode = transaction`) gives each transaction whichever server connection is free.
POOL_MODE_PARAMETER = "pool_mode"
POOL_MODES = ("session", "transaction")


def create_database_engine(url: str, pool_size: int = 10, reads_only: bool = False) -> Engine:
    """An engine for `url`; `reads_only` (PostgreSQL) is for the pool `Database` reads from:
    every statement its own transaction, and plans kept (see below)."""
    parsed = make_url(url)
    pool_mode = parsed.query.get(POOL_MODE_PARAMETER, "session")
    if pool_mode not in POOL_MODES:
        raise ValueError(
            f"{POOL_MODE_PARAMETER} in the database URL must be one of {', '.join(POOL_MODES)}"
        )
    parsed = parsed.difference_update_query([POOL_MODE_PARAMETER])
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"timeout": 30, "cached_statements": SQLITE_CACHED_STATEMENTS},
            json_deserializer=orjson.loads,
        )
        _prepare_sqlite(engine)
        return engine
    # Behind a transaction pooler nothing may live in a server connection's session, and
    # psycopg's prepared statements do: it prepares none, and every statement is planned for
    # its own parameters (what the write pool's session setting below asks for anyway).
    pooled_transactions = pool_mode == "transaction"
    connect_args: dict[str, Any] = {"connect_timeout": 5}
    if pooled_transactions:
        connect_args["prepare_threshold"] = None
    engine = create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping before each checkout: it costs a round trip per transaction. A connection
        # the server dropped fails on use instead, the request answers 503, and SQLAlchemy
        # then replaces every pooled connection at once.
        pool_pre_ping=False,
        pool_recycle=1800,
        # Fail fast when the database is gone, so the API can answer 503 instead of hanging.
        pool_timeout=10,
        connect_args=connect_args,
        **({"isolation_level": "AUTOCOMMIT"} if reads_only else {}),
    )

    # psycopg decodes JSONB itself; orjson does it several times faster than json.loads,
    # which matters when a page holds a hundred documents.
    #
    # psycopg prepares a statement once it has run five times, and PostgreSQL may then keep
    # one generic plan for it, made from the statistics of that moment. A table that grows
    # from a few rows to 50,000 within minutes (a group's members, its team) was read with
    # the plan for a few rows, a sequential scan, until autovacuum next analyzed it: a one-
    # member change to a large group cost what the group's size does. Writes and the roster's
    # set-based statements are therefore planned at every execution, for their parameters.
    #
    # Reads keep their plans: they are lookups by key and pages walked along an index, whose
    # plan does not change with a table's size once the table has statistics, and planning
    # the user read costs several times what running it does. Without statistics no
    # plan is right, custom or generic: models/operations/statistics.py sees that a growing
    # directory gets them.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        set_json_loads(orjson.loads, dbapi_connection)
        if not reads_only and not pooled_transactions:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET plan_cache_mode = force_custom_plan")
            dbapi_connection.commit()

    return engine


class Database:
    """Sessions for reading and for writing; the caller's `with` block is the transaction."""

    def __init__(self, engine: Engine, read_engine: Engine | None = None) -> None:
        self.engine = engine
        # On PostgreSQL a read runs without BEGIN and ROLLBACK: each statement is its own
        # snapshot, and a one-query read costs one round trip instead of three. Reads get a
        # pool of their own whose connections stay in autocommit: switching a pooled
        # connection in and out of it on every checkout costs more than the query it runs.
        if read_engine is None and engine.dialect.name == "postgresql":
            read_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read_engine = read_engine or engine
        self._reader = sessionmaker(self._read_engine, expire_on_commit=False)
        self._writer = sessionmaker(
            engine.execution_options(**{_WRITE_OPTION: True}), expire_on_commit=False
        )

    @classmethod
    def from_url(cls, url: str, pool_size: int = 10) -> Database:
        engine = create_database_engine(url, pool_size=pool_size)
        if engine.dialect.name != "postgresql":
            return cls(engine)
        return cls(engine, create_database_engine(url, pool_size=pool_size, reads_only=True))

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads; on PostgreSQL each statement sees its own snapshot."""
        with self._reader() as session:
            yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A bare connection for one Core read: no session to build, for the hottest reads."""
        with self._read_engine.connect() as connection:
            yield connection

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A transaction that commits when the block ends and rolls back if it raises."""
        with self._writer() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        self._read_engine.dispose()
