"""Operator tokens: who may use the admin API. Never a SCIM token, in either direction.

Operator secrets carry their own marker (`scimgate_op_`) and live in their own table; SCIM
authentication refuses anything with that marker, and operator authentication refuses
anything without it, before either looks at a hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.core.base import utcnow
from models.core.db import Database
from models.core.errors import InvalidValue, NotFound
from models.tokens.bearer import (
    OPERATOR_TOKEN_MARKER,
    IssuedToken,
    digests_match,
    is_operator_token,
    issue_token,
    token_prefix,
)
from models.tokens.tables import OperatorToken
from models.tokens.usage import TOKEN_TOUCH_INTERVAL, touch_last_used

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


@dataclass(frozen=True)
class Operator:
    """The person or system an admin request acts for, fixed by its token."""

    name: str
    token_prefix: str


def create_operator_token(session: Session, name: str) -> IssuedToken:
    """A new operator token for `name`; the secret is returned once and never stored."""
    if not NAME_PATTERN.match(name):
        raise InvalidValue(
            f"operator name {name!r} must be 1-100 letters, digits, dots, dashes, @ or _"
        )
    token = issue_token(OPERATOR_TOKEN_MARKER)
    session.add(OperatorToken(name=name, prefix=token.prefix, token_hash=token.digest))
    session.flush()
    return token


def revoke_operator_token(session: Session, prefix: str) -> OperatorToken:
    token = session.scalar(
        select(OperatorToken).where(
            OperatorToken.prefix == prefix, OperatorToken.revoked_at.is_(None)
        )
    )
    if token is None:
        raise NotFound(f"no unrevoked operator token {prefix!r}")
    token.revoked_at = utcnow()
    session.flush()
    return token


def authenticate_operator(database: Database, secret: str) -> Operator | None:
    """The operator a token names, or None: wrong, revoked, or not an operator token."""
    if not is_operator_token(secret):
        return None
    prefix = token_prefix(secret, OPERATOR_TOKEN_MARKER)
    now = utcnow()
    with database.reading() as session:
        candidates = list(
            session.scalars(select(OperatorToken).where(OperatorToken.prefix == prefix))
        )
    for token in candidates:
        if not digests_match(secret, token.token_hash):
            continue
        if token.revoked_at is not None:
            return None
        if token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_INTERVAL:
            touch_last_used(database, OperatorToken, token.id, now)
        return Operator(name=token.name, token_prefix=prefix)
    return None
