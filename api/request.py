"""Reading requests: the JSON body, within limits, and the base URL responses point back to."""

from __future__ import annotations

import logging
from typing import Any

import falcon
import orjson

from api.errors import ScimError
from api.json_depth import MAX_JSON_DEPTH, nests_deeper_than

log = logging.getLogger(__name__)

JSON_MEDIA_TYPES = ("application/scim+json", "application/json")


def read_body(req: falcon.Request, *, required: bool = True) -> Any:
    """The request's JSON body: 415 for another media type, 413 past the limit, 400 if malformed.

    With `required=False` a request without a body reads as an empty object.
    """
    if not required and not _announces_body(req):
        return {}
    media_type = (req.content_type or "").split(";", 1)[0].strip().lower()
    if media_type and media_type not in JSON_MEDIA_TYPES:
        raise ScimError(415, f"send {' or '.join(JSON_MEDIA_TYPES)}, not {media_type}")
    raw = read_raw_body(req)
    if not raw.strip():
        if not required:
            return {}
        raise ScimError(400, "the request needs a JSON body", "invalidSyntax")
    return parse_json(raw)


def parse_json(raw: bytes) -> Any:
    """A JSON body's value; 400 invalidSyntax if it is not JSON or nests past MAX_JSON_DEPTH.

    Every body is parsed here, whichever way it was read, so none escapes the depth limit.
    """
    if nests_deeper_than(raw):
        raise ScimError(
            400,
            f"the body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep, "
            "the most this server reads",
            "invalidSyntax",
        )
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ScimError(400, f"the body is not valid JSON: {error}", "invalidSyntax") from None


def read_raw_body(req: falcon.Request, limit: int | None = None) -> bytes:
    """The body's bytes: 413 past `limit` (the configured maximum by default), 400 if cut short.

    A chunked body with a malformed chunk, or one whose connection ended before its last
    chunk, is a 400 too. The server then closes the connection itself: where the next
    request would start on it is unknown (gunicorn does; PEP 3333 does not let the
    application ask for it with a `Connection` header).
    """
    if limit is None:
        limit = req.context.max_body_bytes
    if req.content_length is not None and req.content_length > limit:
        raise body_too_large(limit)
    raw = read_input(_body_stream(req), limit + 1)
    if len(raw) > limit:
        raise body_too_large(limit)
    if req.content_length is not None and len(raw) < req.content_length:
        # The client stopped sending (or hung up) early: what arrived may still parse, as a
        # shorter document than the one it meant to send.
        raise ScimError(
            400,
            f"the body ended after {len(raw)} of the {req.content_length} bytes its "
            "Content-Length announced",
            "invalidSyntax",
        )
    return raw


def read_input(stream: Any, size: int) -> bytes:
    """Up to `size` bytes of the request's input; 400 if the server cannot read the body.

    PEP 3333 does not say what a server's input raises when the body is broken, and servers
    differ: gunicorn raises its own parse errors (plain Exception subclasses) for a malformed
    chunk and an OSError when the client goes away mid-body. Whatever it raised, the body
    could not be read, and that is the client's request at fault, not this server.
    """
    try:
        return stream.read(size)
    except Exception as error:
        log.info("the request body could not be read: %s: %s", type(error).__name__, error)
        raise ScimError(
            400,
            "the body could not be read: its chunked encoding is malformed, or the connection "
            "ended before it did",
            "invalidSyntax",
        ) from None


def _body_stream(req: falcon.Request) -> Any:
    """Where the body is read from; reading one byte past the limit is how 413 is found.

    A chunked body has no Content-Length, and Falcon's bounded stream would read it as
    empty. The server marks such input as terminated (PEP 3333's `wsgi.input_terminated`,
    set by gunicorn): it ends at the last chunk, so it is safe to read up to the limit.
    """
    if _is_terminated_input(req):
        return req.stream
    return req.bounded_stream


def _is_terminated_input(req: falcon.Request) -> bool:
    return req.content_length is None and bool(req.env.get("wsgi.input_terminated"))


def _announces_body(req: falcon.Request) -> bool:
    """Whether the request says a body follows: a Content-Length above 0, or chunks."""
    return bool(req.content_length) or _is_terminated_input(req)


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
