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
    raw = _body_stream(req).read(limit + 1)
    if len(raw) > limit:
        raise body_too_large(limit)
    if not raw.strip():
        raise ScimError(400, "the request needs a JSON body", "invalidSyntax")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ScimError(400, f"the body is not valid JSON: {error}", "invalidSyntax") from None


def _body_stream(req: falcon.Request) -> Any:
    """Where the body is read from; reading one byte past the limit is how 413 is found.

    A chunked body has no Content-Length, and Falcon's bounded stream would read it as
    empty. The server marks such input as terminated (PEP 3333's `wsgi.input_terminated`,
    set by gunicorn): it ends at the last chunk, so it is safe to read up to the limit.
    """
    if req.content_length is None and req.env.get("wsgi.input_terminated"):
        return req.stream
    return req.bounded_stream


def body_too_large(limit: int) -> ScimError:
    return ScimError(413, f"the body is larger than {limit} bytes")


def scim_base_url(req: falcon.Request) -> str:
    """The organization's SCIM base URL, as configured or else as the client reached us."""
    public_url = req.context.public_url or req.prefix
    return f"{public_url}/scim/v2/{req.context.tenant.slug}"


def if_none_match_hits(req: falcon.Request, current: str) -> bool:
    """Whether the client's If-None-Match names the current version (then the answer is 304)."""
    header = req.get_header("If-None-Match")
    if not header:
        return False
    tags = {tag.strip() for tag in header.split(",")}
    return "*" in tags or current in tags or current.removeprefix("W/") in tags
