"""When a token was last used: written at most once a minute, never failing its request."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import SQLAlchemyError

from models.core.db import Database
from models.tokens.tables import OperatorToken, ScimToken

log = logging.getLogger(__name__)

# `last_used_at` is written at most this often per token: never a write per request.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def touch_last_used(
    database: Database,
    table: type[ScimToken] | type[OperatorToken],
    token_id: int,
    now: datetime,
) -> None:
    """Record that a token was used, at most once per interval, without failing its request.

    The guard in the WHERE clause keeps concurrent requests from writing the same minute twice.
    """
    column = table.last_used_at
    try:
        with database.writing() as session:
            session.execute(
                update(table)
                .where(
                    table.id == token_id,
                    or_(column.is_(None), column <= now - TOKEN_TOUCH_INTERVAL),
                )
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )
    except SQLAlchemyError as error:
        log.warning("could not record the use of token %s: %s", token_id, error)
