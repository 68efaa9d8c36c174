"""Speaking to the admin API in tests: an operator token and a JSON client."""

from __future__ import annotations

import json
from typing import Any

import falcon
import falcon.testing

from models.core.db import Database
from models.tokens.operators import create_operator_token

ADMIN_ROOT = "/admin/v1"


def operator_token(database: Database, name: str = "alice") -> str:
    with database.writing() as session:
        return create_operator_token(session, name).secret


class AdminClient:
    """falcon.testing with the admin root and an operator's bearer token filled in."""

    def __init__(self, app: falcon.App, token: str) -> None:
        self._client = falcon.testing.TestClient(app)
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> falcon.testing.Result:
        all_headers = {"Authorization": f"Bearer {token or self.token}"}
        if isinstance(body, (bytes, str)):
            kwargs["body"] = body
        elif body is not None:
            all_headers["Content-Type"] = "application/json"
            kwargs["body"] = json.dumps(body)
        all_headers.update(headers or {})
        return self._client.simulate_request(
            method, ADMIN_ROOT + path, headers=all_headers, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> falcon.testing.Result:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> falcon.testing.Result:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> falcon.testing.Result:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> falcon.testing.Result:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> falcon.testing.Result:
        return self.request("DELETE", path, **kwargs)
