"""/Bulk: each operation runs as a request of its own through this same application.

Running operations through the WSGI app, with the bulk request's own credentials, means an
operation behaves exactly as the same request sent alone would: validation, errors,
transactions and the reconcile it enqueues.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

import falcon
import orjson

from api.middleware import BULK_TENANT
from api.ratelimit import TokenBucket, too_many_requests
from api.request import read_body, scim_base_url
from api.scim.bulk import BulkRun, OperationResult, parse_bulk_request

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# What of the bulk request an operation must not inherit: its headers, and the client's
# socket (an operation's body is in memory; nothing of it is on the connection).
_PER_REQUEST_HEADERS = (
    "HTTP_IF_MATCH",
    "HTTP_IF_NONE_MATCH",
    "CONTENT_LENGTH",
    "CONTENT_TYPE",
    "gunicorn.socket",
)


class BulkResource:
    """A Bulk request counts as one request per operation against the rate limit.

    It is admitted or refused whole, before any operation runs: its own request took one
    token, and the other operations take theirs here, all or none. Its operations then run
    without a token or an authentication of their own; none of them can meet a 429 halfway
    through. `max_operations` must not be above the bucket's burst, or the largest bulk
    requests could never be admitted (api/app.py sees to it).
    """

    def __init__(
        self,
        max_operations: int,
        application: Callable[[], WsgiApp],
        bucket: TokenBucket | None = None,
    ) -> None:
        self._max_operations = max_operations
        self._application = application
        self._bucket = bucket

    def on_post(self, req: falcon.Request, resp: falcon.Response, organization: str) -> None:
        request = parse_bulk_request(read_body(req), self._max_operations)
        tenant = req.context.tenant
        others = len(request.operations) - 1
        if self._bucket is not None and others > 0:
            decision = self._bucket.take(str(tenant.id), cost=others)
            if not decision.allowed:
                raise too_many_requests(
                    tenant.slug,
                    self._bucket,
                    decision,
                    f"{len(request.operations)} requests (one per operation of this bulk"
                    " request) are too many",
                )
        dispatcher = _Dispatcher(self._application(), req)
        resp.media = BulkRun(request, dispatcher).run()


class _Dispatcher:
    """Sends one operation to the application as a request under the bulk's credentials."""

    def __init__(self, application: WsgiApp, req: falcon.Request) -> None:
        self._application = application
        self._environ = {
            key: value for key, value in req.env.items() if key not in _PER_REQUEST_HEADERS
        }
        self._environ[BULK_TENANT] = req.context.tenant
        self._root = req.path.rsplit("/", 1)[0]
        self._base_url = scim_base_url(req)

    def __call__(self, method: str, path: str, data: Any, version: str | None) -> OperationResult:
        body = b"" if data is None else orjson.dumps(data)
        target = self._root + path
        environ = {
            **self._environ,
            "REQUEST_METHOD": method,
            # As a WSGI server would put it: percent-decoded, its bytes as latin-1 (PEP 3333).
            "PATH_INFO": unquote_to_bytes(target).decode("latin-1"),
            # The target as sent, for the checks that read it (api/access.py): the
            # operation's path, not the /Bulk request's.
            "RAW_URI": target,
            "REQUEST_URI": target,
            "QUERY_STRING": "",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
        }
        if body:
            environ["CONTENT_TYPE"] = "application/scim+json"
        if version:
            environ["HTTP_IF_MATCH"] = version
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            started["status"] = int(status.split(" ", 1)[0])
            started["headers"] = {name.lower(): value for name, value in headers}

        chunks = self._application(environ, start_response)
        try:
            raw = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        headers = started["headers"]
        location = headers.get("location")
        if location is None and path.count("/") == 2:
            location = self._base_url + path
        return OperationResult(
            status=started["status"],
            location=location,
            version=headers.get("etag"),
            body=orjson.loads(raw) if raw else None,
        )
