"""Operator authentication: every request under the admin root needs an operator token.

The check keys on the path, not on the resource, so a route added later is protected
without anyone remembering to protect it, and an unknown admin path answers 401 rather
than telling a stranger which routes exist.
"""

from __future__ import annotations

import falcon

from api.errors import ScimError
from api.middleware import bearer_token
from models.audit import Actor
from models.db import Database
from models.operators import authenticate_operator
from models.tokens import OPERATOR_TOKEN_MARKER

ADMIN_ROOT = "/admin/v1"


class OperatorAuthentication:
    """Puts the operator on `req.context.operator` and their `Actor` on `req.context.actor`."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not (req.path == ADMIN_ROOT or req.path.startswith(ADMIN_ROOT + "/")):
            return
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
