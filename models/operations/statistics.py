"""Planner statistics for the tables an initial push grows faster than autovacuum looks.

PostgreSQL picks an index from the table's statistics. A directory table that has never been
analyzed has none, and the planner then guesses that any index on `organization_id` finds a
row or two: it served `userName eq` lookups from the listing-order index, reading every user
of the organization to find one, so a fresh directory's initial push slowed down as it
grew. Autovacuum analyzes a table only once a minute at best,
and a push of 10,000 users is over by then.

So the reconcile job, which follows every burst of directory writes, analyzes a table as soon
as it has about doubled since it was last analyzed: a handful of times while a directory grows
from nothing to its full size, and hardly ever after that.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from models.core.db import Database

log = logging.getLogger(__name__)

# The tables whose lookups an IdP waits on and whose size one push can multiply.
GROWING_TABLES = ("directory_users", "directory_groups", "directory_group_members", "members")
# Below this many rows any plan is fast, and analyzing would cost more than it saves.
MIN_ROWS = 500

# pg_class.reltuples is the row count the last ANALYZE (or VACUUM) saw, -1 if none ever ran.
_GROWN_TABLES = text(
    "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
    " WHERE s.schemaname = current_schema() AND s.relname = ANY(:tables)"
    "   AND s.n_live_tup >= greatest(:floor, 2 * c.reltuples)"
)


def analyze_grown_tables(database: Database) -> list[str]:
    """ANALYZE every growing table that holds at least twice the rows it held when it was
    last analyzed (or MIN_ROWS, if it never was); return their names. PostgreSQL only."""
    if not database.is_postgresql:
        return []
    analyzed = []
    try:
        with database.reading() as session:
            grown = session.scalars(
                _GROWN_TABLES, {"tables": list(GROWING_TABLES), "floor": MIN_ROWS}
            ).all()
    except OperationalError as error:
        # Only planning is at stake: the next reconcile looks again.
        log.warning("could not read table statistics: %s", error.orig)
        return []
    for table in grown:
        try:
            with database.writing() as session:
                # Autovacuum may be analyzing it already: then there is nothing to add.
                session.execute(text("SET LOCAL lock_timeout = '1s'"))
                session.execute(text(f'ANALYZE "{table}"'))
        except OperationalError as error:
            log.info("skipped analyzing %s: %s", table, error.orig)
            continue
        analyzed.append(table)
    if analyzed:
        log.info("analyzed %s", ", ".join(analyzed))
    return analyzed
