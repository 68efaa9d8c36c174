"""Speaking to the admin API in tests: an operator token and a JSON client."""

from __future__ import annotations

import falcon
import falcon.testing

from models.core.db import Database
from models.tokens.operators import create_operator_token
from tests.support.clients import BearerClient

ADMIN_ROOT = "/admin/v1"


def operator_token(database: Database, name: str = "alice") -> str:
    with database.writing() as session:
        return create_operator_token(session, name).secret


class AdminClient(BearerClient):
    """The admin API, as an operator: JSON in and out under /admin/v1."""

    def __init__(self, app: falcon.App, token: str) -> None:
        super().__init__(app, ADMIN_ROOT, token)
