"""falcon.testing with a base path and a bearer token filled in, bodies sent as JSON."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import falcon
import falcon.testing


class BearerClient:
    """Requests to one API of the app, as one credential; each API's client says its media."""

    media_type: ClassVar[str] = "application/json"
    accept: ClassVar[str | None] = None
    # Bodies of these types go as they are; anything else is encoded as JSON.
    raw_bodies: ClassVar[tuple[type, ...]] = (bytes, str)

    def __init__(self, app: falcon.App, base: str, token: str) -> None:
        self._client = falcon.testing.TestClient(app)
        self.base = base
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
        if self.accept:
            all_headers["Accept"] = self.accept
        if isinstance(body, self.raw_bodies):
            kwargs["body"] = body
        elif body is not None:
            all_headers["Content-Type"] = self.media_type
            kwargs["body"] = json.dumps(body)
        all_headers.update(headers or {})
        return self._client.simulate_request(
            method, self.base + path, headers=all_headers, **kwargs
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
