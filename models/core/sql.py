"""Small SQL helpers that read the same on every backend and run well on each."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Insert, any_, bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, Session

# A column to compare: a mapped attribute (`Member.id`) or any column expression.
SqlColumn = ColumnElement[Any] | QueryableAttribute[Any]


def one_of(session: Session, column: SqlColumn, values: Collection[Any]) -> ColumnElement[bool]:
    """`column IN values`, sent to PostgreSQL as `IN (SELECT unnest(one array parameter))`.

    An IN list is one bind parameter per value; for the few hundred ids of a roster batch the
    driver spends longer rewriting such a statement than the server spends running it.

    Not `= ANY(array)`: once psycopg prepares a statement, PostgreSQL may settle on a generic
    plan, and a generic plan tests `= ANY($1)` element by element on every row it reads, a
    quarter of a second for 500 values against 5,000 rows. With `unnest` the values are a
    set, which the planner hashes or looks up by index.
    """
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=ARRAY(column.type))
        return column.in_(select(func.unnest(array)))
    return column.in_(values)


def any_of(session: Session, column: SqlColumn, values: Collection[Any]) -> ColumnElement[bool]:
    """`column IN values`, sent to PostgreSQL as `column = ANY(one array parameter)`.

    Where `one_of`'s subquery sits on one side of an OR, PostgreSQL cannot look it up in an
    index and reads every row to test it; `= ANY` is an index condition, and either side of
    the OR is then found by its index. Only for statements planned at every execution (the
    write pool's, models/core/db.py), for the generic-plan reason `one_of` gives.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def insert_rows(
    session: Session,
    table: Any,
    rows: list[dict[str, Any]],
    returning: tuple[str, ...] = (),
    unless_exists: tuple[str, ...] = (),
) -> Sequence[Any]:
    """Insert many rows in one statement; the `returning` columns of each, in no set order.

    With `unless_exists` (the columns of a unique index), a row that would duplicate one
    already there is skipped (ON CONFLICT DO NOTHING), and returns nothing.

    On PostgreSQL the rows travel as one JSON parameter, which `json_populate_recordset`
    turns back into rows of the table's own column types: orjson writes it in one call,
    where an array per column would have the driver quote every string on its own.
    Elsewhere it is an ordinary multi-row INSERT.
    """
    if not rows:
        return []
    bind = session.get_bind()
    # The connection, not the session: callers may be inside a flush, which must not recurse.
    connection = session.connection()
    if bind.dialect.name != "postgresql":
        statement: Insert = insert(table)
        if unless_exists:
            statement = sqlite_insert(table).on_conflict_do_nothing(
                index_elements=list(unless_exists)
            )
        if returning:
            statement = statement.returning(*(table.c[name] for name in returning))
            return connection.execute(statement, rows).all()
        connection.execute(statement, rows)
        return []
    quote = bind.dialect.identifier_preparer.quote
    # Only names from the table's own metadata go into the text; values are the parameter.
    names = ", ".join(quote(name) for name in rows[0])
    sql = (
        f"INSERT INTO {quote(table.name)} ({names}) "  # noqa: S608
        f"SELECT {names} FROM json_populate_recordset(NULL::{quote(table.name)}, :rows)"
    )
    if unless_exists:
        sql += f" ON CONFLICT ({', '.join(quote(name) for name in unless_exists)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(quote(name) for name in returning)}"
    result = connection.execute(text(sql), {"rows": orjson.dumps(rows).decode()})
    return result.all() if returning else []


def flush_unique(session: Session, conflict: Exception) -> None:
    """Flush, raising `conflict` if a unique index refuses a row.

    Two concurrent writes can both pass a check for an existing name; the unique index is
    what settles it, and the caller says what that means.
    """
    try:
        session.flush()
    except IntegrityError:
        raise conflict from None
