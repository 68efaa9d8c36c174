"""Operator authentication: the admin routes need an operator token."""

from __future__ import annotations

import falcon

from api.errors import ScimError
from api.middleware import bearer_token
from models.audit.trail import Actor
from models.core.db import Database
from models.tokens.bearer import OPERATOR_TOKEN_MARKER
from models.tokens.operators import authenticate_operator

ADMIN_ROOT = "/admin/v1"


class OperatorAuthentication:
    """Puts the operator on `req.context.operator` and their `Actor` on `req.context.actor`."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def authenticate(self, req: falcon.Request) -> None:
        """Fix who the operator is, or raise the 401."""
        secret = bearer_token(req.get_header("Authorization"))
        operator = authenticate_operator(self._database, secret) if secret else None
        if operator is None:
            raise ScimError(
                401,
                f"an operator token ({OPERATOR_TOKEN_MARKER}...) is required; "
                "create one with `scimgate operator token create NAME`",
                headers={"WWW-Authenticate": 'Bearer realm="scimgate-admin"'},
            )
        req.context.operator = operator
        req.context.actor = Actor.operator(operator.name)
