"""orjson for `application/scim+json` and `application/json`, registered once."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.media
import orjson

from api.request import parse_json, read_input

SCIM_JSON = "application/scim+json"


class ScimJsonHandler(falcon.media.JSONHandler):
    """orjson both ways; a body read as `req.get_media()` is parsed as `read_body` parses it.

    Falcon's handler would decode the body to text and turn any error of ours into its own
    "Invalid JSON"; this one hands the bytes to `parse_json`, depth limit and all, and lets
    its SCIM error (400 invalidSyntax, with the reason) through.
    """

    def deserialize(self, stream: Any, content_type: str | None, content_length: int | None) -> Any:
        return self._deserialize(read_input(stream, -1))

    def _deserialize(self, data: bytes) -> Any:
        if not data.strip():
            # Falcon's own signal for no body, so `get_media(default_when_empty=...)` works.
            raise falcon.MediaNotFoundError("JSON")
        return parse_json(data)


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def json_handler() -> falcon.media.JSONHandler:
    return ScimJsonHandler(dumps=_dumps, loads=orjson.loads)


def install_media_handlers(app: falcon.App) -> None:
    handler = json_handler()
    handlers = {SCIM_JSON: handler, falcon.MEDIA_JSON: handler}
    app.req_options.media_handlers.update(handlers)
    app.resp_options.media_handlers.update(handlers)
    app.resp_options.default_media_type = SCIM_JSON
