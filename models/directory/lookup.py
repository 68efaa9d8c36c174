"""Users found by one column's exact value: the lookup an IdP makes before every write.

Okta and Entra ID ask `GET /Users?filter=userName eq "..."` (or `externalId eq`) before each
create or update, so it is the commonest read there is. Building its statement (the scope,
the filter, the order, the page) and letting SQLAlchemy derive a cache key from it costs
several times what PostgreSQL spends answering it; here the statement is built once per
column, with bound parameters, and only the values change.

The conditions are the ones the filter compiler writes for the same comparison
(api/scim/sql/filters.py uses `folded_equals` and `exactly_equals` too), so both paths find the
same rows by the same index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func

from models.core.db import Database
from models.core.json_sql import casefold
from models.core.paging import FetchedPage
from models.directory.tables import DirectoryUser
from models.directory.users import STORED_USER_COLUMNS, users_of


def folded_equals(column: ColumnElement[str], folded: Any) -> ColumnElement[bool]:
    """`column`, lowered as Python's `str.lower` lowers it, equals `folded` (ASCII, lowered).

    Written as `lower(column) = value` so that the unique index on lower(column) finds the
    row; SQLite's lower() folds ASCII only, so the exact fold is checked as well (the same
    rows, found by the index). `folded` is a string or a bound parameter.
    """
    return and_(func.lower(column) == folded, casefold(column) == folded)


def exactly_equals(column: ColumnElement[str], value: Any) -> ColumnElement[bool]:
    """`column` is set and equals `value` exactly (a caseExact attribute); never NULL."""
    return and_(column.is_not(None), column == value)


@dataclass(frozen=True, eq=False)
class ExactMatch:
    """One column compared with one value: folded (case-insensitive) or exactly.

    Compared by identity: each is made once, and keys the statement prepared for it.
    """

    column: ColumnElement[str]
    folded: bool

    def condition(self, value: Any) -> ColumnElement[bool]:
        if self.folded:
            return folded_equals(self.column, value)
        return exactly_equals(self.column, value)


class UserLookup:
    """Finds an organization's live users whose one column holds one value."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._statements: dict[ExactMatch, Select[Any]] = {}

    def find(self, organization_id: int, match: ExactMatch, value: str, limit: int) -> FetchedPage:
        """The first `limit` matches in creation order, as StoredUser rows with their keys.

        `total` is the number of matches when the page holds them all; when there are more
        (`more`), it is None: counting them is the general listing's work.
        """
        statement = self._statements.get(match)
        if statement is None:
            statement = self._statements.setdefault(match, _lookup_statement(match))
        parameters = {"organization_id": organization_id, "value": value, "limit": limit + 1}
        # A bare connection: a Session's bookkeeping would cost more than the query here.
        with self._database.read_connection() as connection:
            rows = list(connection.execute(statement, parameters).all())
        more = len(rows) > limit
        del rows[limit:]
        return FetchedPage(
            rows=rows,
            keys=[(row.created_at, row.id) for row in rows],
            more=more,
            total=None if more else len(rows),
        )


def _lookup_statement(match: ExactMatch) -> Select[Any]:
    """The organization's users matching `match`, in the listing's default order."""
    return (
        users_of(bindparam("organization_id"))
        .with_only_columns(*STORED_USER_COLUMNS)
        .where(match.condition(bindparam("value")))
        .order_by(DirectoryUser.created_at, DirectoryUser.id)
        .limit(bindparam("limit"))
    )
