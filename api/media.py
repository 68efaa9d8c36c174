"""orjson for `application/scim+json` and `application/json`, registered once."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.media
import orjson

from api.errors import ScimError

SCIM_JSON = "application/scim+json"


def _loads(content: str | bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as error:
        raise ScimError(400, f"the body is not valid JSON: {error}", "invalidSyntax") from None


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def json_handler() -> falcon.media.JSONHandler:
    return falcon.media.JSONHandler(dumps=_dumps, loads=_loads)


def install_media_handlers(app: falcon.App) -> None:
    handler = json_handler()
    handlers = {SCIM_JSON: handler, falcon.MEDIA_JSON: handler}
    app.req_options.media_handlers.update(handlers)
    app.resp_options.media_handlers.update(handlers)
    app.resp_options.default_media_type = SCIM_JSON
