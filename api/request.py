"""Reading requests: the JSON body, within limits, and the base URL responses point back to."""

from __future__ import annotations

from typing import Any

import falcon
import orjson

from api.errors import ScimError

JSON_MEDIA_TYPES = ("application/scim+json", "application/json")


def read_body(req: falcon.Request) -> Any:
    """The request's JSON body: 415 for another media type, 413 past the limit, 400 if malformed."""
    media_type = (req.content_type or "").split(";", 1)[0].strip().lower()
    if media_type and media_type not in JSON_MEDIA_TYPES:
        raise ScimError(415, f"send {' or '.join(JSON_MEDIA_TYPES)}, not {media_type}")
    limit = req.context.max_body_bytes
    if req.content_length is not None and req.content_length > limit:
        raise body_too_large(limit)
    raw = req.bounded_stream.read(limit + 1)
    if len(raw) > limit:
        raise body_too_large(limit)
    if not raw.strip():
        raise ScimError(400, "the request needs a JSON body", "invalidSyntax")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ScimError(400, f"the body is not valid JSON: {error}", "invalidSyntax") from None


def body_too_large(limit: int) -> ScimError:
    return ScimError(413, f"the body is larger than {limit} bytes")


def scim_base_url(req: falcon.Request) -> str:
    """The organization's SCIM base URL, as configured or else as the client reached us."""
    public_url = req.context.public_url or req.prefix
    return f"{public_url}/scim/v2/{req.context.tenant.slug}"
