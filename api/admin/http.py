"""Reading admin requests and writing admin responses: plain JSON, strictly typed fields."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import falcon

from api.errors import ScimError
from api.request import read_body
from models.core.limits import MAX_DURATION, whole_number


def json_body(req: falcon.Request) -> dict[str, Any]:
    """The request's JSON object; an empty body is an empty object."""
    body = read_body(req, required=False)
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a JSON object", "invalidSyntax")
    return body


def respond(resp: falcon.Response, body: Any, status: str = falcon.HTTP_200) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.media = body


def optional_string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ScimError(400, f"{name} must be a string", "invalidValue")
    return value


def required_string(body: dict[str, Any], name: str) -> str:
    value = optional_string(body, name)
    if value is None or not value.strip():
        raise ScimError(400, f"{name} is required", "invalidValue")
    return value


def optional_bool(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise ScimError(400, f"{name} must be true or false", "invalidValue")
    return value


def optional_int(body: dict[str, Any], name: str, minimum: int, maximum: int) -> int | None:
    """A whole number from `minimum` to `maximum`, or None when the field is absent or null."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ScimError(
            400, f"{name} must be a whole number from {minimum} to {maximum}", "invalidValue"
        )
    return value


def optional_seconds(
    body: dict[str, Any], name: str, maximum: timedelta = MAX_DURATION
) -> timedelta | None:
    """A duration given in whole seconds, from 0 to `maximum` (ten years unless told)."""
    seconds = optional_int(body, name, 0, int(maximum.total_seconds()))
    return None if seconds is None else timedelta(seconds=seconds)


def int_param(req: falcon.Request, name: str, default: int, minimum: int, maximum: int) -> int:
    """A whole-number query parameter from `minimum` to `maximum`; `default` when absent."""
    raw = req.get_param(name)
    if raw is None or raw == "":
        return default
    value = whole_number(raw, minimum, maximum)
    if value is not None:
        return value
    raise ScimError(
        400, f"{name} must be a whole number from {minimum} to {maximum}", "invalidValue"
    )
