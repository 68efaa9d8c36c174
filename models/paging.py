"""Fetching one page of an ordered query: by offset, or after/before a key (keyset).

The caller builds the statement (already scoped to one organization, filtered), the order
and the keyset condition; this module runs them and decides when a COUNT is needed at all:
a page that is the first and not full already tells the total, so exact lookups
(`userName eq ...`) never count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func
from sqlalchemy.orm import Session


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


@dataclass(frozen=True)
class FetchedPage:
    rows: list[Any]
    keys: list[tuple[Any, ...]]
    # More rows exist past the page in the direction of travel.
    more: bool
    total: int | None


def fetch_page(session: Session, query: Select[Any], spec: PageSpec) -> FetchedPage:
    """One page of `query`'s rows (with the key columns appended to each); see PageSpec."""
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
        width = len(spec.keys)
        for row in session.execute(statement):
            rows.append(row)
            keys.append(tuple(row[len(row) - width :]) if width else ())
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
            counting = query.with_only_columns(func.count(), maintain_column_froms=True)
            total = session.scalar(counting.order_by(None)) or 0
    return FetchedPage(rows=rows, keys=keys, more=more, total=total)
