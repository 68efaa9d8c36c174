"""Fetching one page of an ordered query: by offset, or after/before a key (keyset).

The caller builds the statement (already scoped to one organization, filtered), the order
and the keyset condition; this module runs them and decides when a COUNT is needed at all:
a page that is the first and not full already tells the total, so exact lookups
(`userName eq ...`) never count.

An import walks every page in turn (`startIndex=1,101,201,...`). On PostgreSQL, skipping
`offset` rows reads each of them from the table, and a COUNT reads every index entry (and,
until VACUUM has passed, every row) of the organization, so a walk that skipped and
counted on each page cost what the square of the directory's size does. There:

- A page past the first is one statement with its total: the counts travel as uncorrelated
  scalar subqueries (computed once) among the page's columns.
- When the caller knows where the page before ended (`seek`: the rows past the sort key of
  its last row), the page is read as a range from that key, and the same statement counts
  the rows up to the key and those past it. If the former are exactly `offset`, the range
  is the offset page; if not (rows came or went meanwhile), the page is read by offset.
- When the caller also knows the total and `version` an earlier page read, and the query has
  a `version` (a value that changes whenever the rows it matches may have), the range is
  read with the version alone: if it has not changed, neither have the rows up to the key
  nor the total, and nothing is counted.

So every page of a walk costs about the same, and its rows and total are always those of
the moment it is read. SQLite steps over skipped index entries without reading their rows
and counts an index in memory: it skips and counts.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, func, not_
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors

# The most rows a page may skip: more than any directory holds, and an offset either database
# takes (SQLite refuses a Python int past 64 bits outright, PostgreSQL past its bigint).
MAX_OFFSET = 2**31 - 2
# SQLAlchemy keeps each engine's compiled statements in an LRU of 500 entries: bounded by
# count, not by size. A filter of 200 `or`-ed terms compiles to about a megabyte, and each
# width of filter is a statement of its own, so a client sending filters of every width
# fills it with hundreds of megabytes. A statement with more bound values than this (a filter
# of about 25 terms; IdPs send one) is compiled each time instead of kept.
CACHED_STATEMENT_MAX_BINDS = 32
# Marks such a statement; only a connection's options may name the cache itself.
_UNCACHED = "scimgate_uncached"


@dataclass(frozen=True)
class PageSpec:
    """Which rows to fetch, in which order, and what to read of their sort keys."""

    order_by: Sequence[ColumnElement[Any]]
    keys: Sequence[ColumnElement[Any]]
    limit: int
    offset: int = 0
    # Keyset paging: only rows past this condition (a cursor's key).
    boundary: ColumnElement[bool] | None = None
    # The order runs backwards (a previous page); rows come back in forward order anyway.
    backwards: bool = False
    # Whether the caller needs the total number of matches.
    want_total: bool = True
    # Offset paging: the rows past the key at which an earlier page ended at `offset`, when
    # the caller remembers one. Only a hint: used on PostgreSQL, and only while the rows up
    # to that key are still exactly `offset`.
    seek: ColumnElement[bool] | None = None
    # With `seek`: the total and the query's version that page read in one statement.
    known_total: int | None = None
    known_version: Any = None
    # The order reads only what a row never changes (its creation time and id), so only rows
    # coming or going can move a row's position.
    fixed_order: bool = False


@dataclass(frozen=True)
class FetchedPage:
    rows: list[Any]
    keys: list[tuple[Any, ...]]
    # More rows exist past the page in the direction of travel.
    more: bool
    total: int | None
    # The query's version, read in the same statement as `total`; None if not read.
    version: Any = None


def fetch_page(
    session: Session,
    query: Select[Any],
    spec: PageSpec,
    version: Select[Any] | None = None,
) -> FetchedPage:
    """One page of `query`'s rows (with the key columns, and maybe counts, appended to each).

    `version`, if given, selects one value that changes whenever the rows `query` matches
    may have changed (None while it cannot tell); see the module's description.
    """
    # Every statement below is made from `query`, and keeps its execution options.
    query = _uncached_if_wide(query)
    if (
        spec.boundary is not None
        or spec.limit == 0
        or not spec.want_total
        or session.get_bind().dialect.name != "postgresql"
    ):
        return _fetch(session, query, spec)
    if spec.seek is not None:
        if version is not None and spec.known_version is not None:
            unchanged = _fetch_unchanged(session, query, spec, spec.seek, version)
            if unchanged is not None:
                return unchanged
        sought = _fetch_counted(session, query, spec, spec.seek, version)
        if sought is not None:
            return sought
    if spec.offset == 0 and version is None:
        return _fetch(session, query, spec)
    counted = _fetch_counted(session, query, spec, None, version)
    if counted is not None:
        return counted
    # Past the last row: the page is empty and only the total is left to read.
    return FetchedPage(rows=[], keys=[], more=False, total=_count(session, query))


def _fetch(session: Session, query: Select[Any], spec: PageSpec) -> FetchedPage:
    """The page by offset or cursor, then a COUNT only if the page does not tell the total."""
    windowed = query if spec.boundary is None else query.where(spec.boundary)
    rows: list[Any] = []
    keys: list[tuple[Any, ...]] = []
    more = False
    if spec.limit > 0:
        statement = (
            windowed.add_columns(*spec.keys)
            .order_by(*spec.order_by)
            .offset(spec.offset or None)
            .limit(spec.limit + 1)
        )
        rows, keys = _split(_execute(session, statement), len(spec.keys), 0)
        more = len(rows) > spec.limit
        del rows[spec.limit :], keys[spec.limit :]
        if spec.backwards:
            rows.reverse()
            keys.reverse()
    total = None
    if spec.want_total:
        if spec.boundary is None and spec.limit > 0 and not more and (rows or not spec.offset):
            total = spec.offset + len(rows)
        else:
            total = _count(session, query)
    return FetchedPage(rows=rows, keys=keys, more=more, total=total)


def _fetch_unchanged(
    session: Session,
    query: Select[Any],
    spec: PageSpec,
    seek: ColumnElement[bool],
    version: Select[Any],
) -> FetchedPage | None:
    """The range past the sought key, if the query's version is still the one it had."""
    statement = (
        query.where(seek)
        .add_columns(*spec.keys, version.scalar_subquery())
        .order_by(*spec.order_by)
        .limit(spec.limit + 1)
    )
    result = _execute(session, statement)
    if not result or result[0][-1] is None or result[0][-1] != spec.known_version:
        return None
    return _page(result, spec, total=spec.known_total, version=spec.known_version, trailing=1)


def _fetch_counted(
    session: Session,
    query: Select[Any],
    spec: PageSpec,
    seek: ColumnElement[bool] | None,
    version: Select[Any] | None,
) -> FetchedPage | None:
    """The page, the total (and the version) in one statement; None if it cannot answer.

    Without `seek` the page skips `offset` rows, and None means it is empty (the total
    then needs a query of its own). With `seek` the page is the range past the sought key,
    and None means that key no longer ends at `offset`, or the range is empty.
    """
    if seek is None:
        counts = [_counting(query)]
    else:
        # The rows up to the key and those past it, each a range of the order's index where
        # there is one (the key is its bound, not a filter on every row): together they are
        # the total, read once.
        counts = [_counting(query.where(not_(seek))), _counting(query.where(seek))]
    extra = [count.scalar_subquery() for count in counts]
    if version is not None:
        extra.append(version.scalar_subquery())
    statement = (
        (query if seek is None else query.where(seek))
        .add_columns(*spec.keys, *extra)
        .order_by(*spec.order_by)
        .offset(spec.offset if seek is None else None)
        .limit(spec.limit + 1)
    )
    result = _execute(session, statement)
    if not result:
        return None
    tail = result[0][-len(extra) :]
    counted = tail[: len(counts)]
    if seek is not None and counted[0] != spec.offset:
        return None
    read_version = tail[-1] if version is not None else None
    return _page(result, spec, total=sum(counted), version=read_version, trailing=len(extra))


def _page(
    result: list[Any], spec: PageSpec, total: int | None, version: Any, trailing: int
) -> FetchedPage:
    rows, keys = _split(result, len(spec.keys), trailing)
    more = len(rows) > spec.limit
    del rows[spec.limit :], keys[spec.limit :]
    return FetchedPage(rows=rows, keys=keys, more=more, total=total, version=version)


def _counting(query: Select[Any]) -> Select[Any]:
    return query.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)


def _count(session: Session, query: Select[Any]) -> int:
    return _execute(session, _counting(query))[0][0] or 0


def _uncached_if_wide(query: Select[Any]) -> Select[Any]:
    """`query`, kept out of the compiled-statement cache if it binds many values."""
    binds = (element for element in visitors.iterate(query) if isinstance(element, BindParameter))
    # Counted only as far as the limit: past it, how many more makes no difference.
    counted = sum(1 for _ in itertools.islice(binds, CACHED_STATEMENT_MAX_BINDS + 1))
    if counted > CACHED_STATEMENT_MAX_BINDS:
        return query.execution_options(**{_UNCACHED: True})
    return query


def _execute(session: Session, statement: Select[Any]) -> list[Any]:
    # Plain rows through the session's connection: a page is read, never changed, and the
    # ORM's result machinery would cost more per row than the query does.
    uncached = statement.get_execution_options().get(_UNCACHED)
    options = {"compiled_cache": None} if uncached else None
    return list(session.connection().execute(statement, execution_options=options).all())


def _split(
    result: list[Any], key_width: int, trailing: int
) -> tuple[list[Any], list[tuple[Any, ...]]]:
    """The rows as they came, and each one's key: the columns before the `trailing` ones."""
    keys: list[tuple[Any, ...]] = []
    if key_width:
        for row in result:
            end = len(row) - trailing
            keys.append(tuple(row[end - key_width : end]))
    else:
        keys = [()] * len(result)
    return result, keys
