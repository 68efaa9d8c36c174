"""One SCIM error type and one serializer: every error leaves as an RFC 7644 Error body."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import falcon
from pydantic import ValidationError
from scim2_models import SCIMException
from sqlalchemy import exc as database_errors

from api.routing import Access
from models.core.errors import Conflict, InvalidValue, NotFound, PreconditionFailed

log = logging.getLogger(__name__)

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_CONTENT_TYPE = "application/scim+json"
RETRY_AFTER_SECONDS = 5
ADMIN_PATH_PREFIX = "/admin/"


class ScimError(falcon.HTTPError):
    """An HTTP error with an optional RFC 7644 `scimType`."""

    def __init__(
        self,
        status: int,
        detail: str,
        scim_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(falcon.code_to_http_status(status), headers=headers)
        self.detail = detail
        self.scim_type = scim_type

    def to_dict(self, obj_type: type = dict) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status_code)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body


def serialize_error(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
    """Render any Falcon error, ours or its own, as a SCIM Error body (plain JSON for admins)."""
    if _is_admin_request(req):
        _serialize_admin_error(resp, error)
        return
    if isinstance(error, ScimError):
        body = error.to_dict()
    else:
        body = {"schemas": [ERROR_SCHEMA], "status": str(error.status_code)}
        detail = error.description or error.title
        if detail:
            body["detail"] = detail
    resp.content_type = SCIM_CONTENT_TYPE
    resp.media = body


def _is_admin_request(req: falcon.Request) -> bool:
    """Whether the request is the admin API's: by its route, else (no route) by its path.

    Only the error's format depends on this; who may call a route never does (api/access.py).
    """
    access = getattr(req.context, "access", None)
    if access is not None:
        return access is Access.OPERATOR
    return req.path.startswith(ADMIN_PATH_PREFIX)


def _serialize_admin_error(resp: falcon.Response, error: falcon.HTTPError) -> None:
    """The admin API is not SCIM: its errors are `{"status": 409, "title": ..., "detail": ...}`."""
    detail = error.detail if isinstance(error, ScimError) else error.description
    resp.content_type = falcon.MEDIA_JSON
    resp.media = {
        "status": error.status_code,
        "title": error.title,
        "detail": detail or error.title,
    }


def install_error_handlers(app: falcon.App) -> None:
    app.set_error_serializer(serialize_error)
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(falcon.HTTPError, _http_error)
    app.add_error_handler(NotFound, _translate(404, None))
    app.add_error_handler(Conflict, _translate(409, "uniqueness"))
    app.add_error_handler(InvalidValue, _translate(400, "invalidValue"))
    app.add_error_handler(PreconditionFailed, _translate(412, None))
    # The database failed (the client should come back, not give up), or refused a statement
    # for its size (the client should ask for less): `_database_error` tells which.
    app.add_error_handler(
        (
            database_errors.OperationalError,
            database_errors.InterfaceError,
            database_errors.TimeoutError,
            database_errors.DisconnectionError,
        ),
        _database_error,
    )
    app.add_error_handler(SCIMException, _scim_exception)
    app.add_error_handler(ValidationError, _validation_error)


def _http_error(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError, params: Any):
    raise error


def _translate(status: int, scim_type: str | None):
    def handler(req: falcon.Request, resp: falcon.Response, error: Exception, params: Any):
        raise ScimError(status, str(error), scim_type)

    return handler


def _scim_exception(req: falcon.Request, resp: falcon.Response, error: SCIMException, params):
    raise scim_error_from(error)


def _validation_error(req: falcon.Request, resp: falcon.Response, error: ValidationError, params):
    raise scim_error_from(error)


def scim_error_from(error: Exception) -> ScimError:
    """A 400 for bad input, keeping the scimType scim2-models attached when it gave one."""
    if isinstance(error, SCIMException):
        return ScimError(error.status, error.detail, error.scim_type or None)
    if isinstance(error, ValidationError):
        scim_types = [
            item.get("ctx", {}).get("scim_type") for item in error.errors() if item.get("ctx")
        ]
        scim_type = next((t for t in scim_types if t), "invalidValue")
        return ScimError(400, describe_validation_error(error), scim_type)
    return ScimError(400, str(error), "invalidValue")


# SQLite reports a statement past one of its compile-time limits (sqlite3.c, the SQLITE_MAX_*
# settings) with the generic SQLITE_ERROR, so only the message tells it apart from, say, a
# missing table. These are its messages for each limit a query's size can reach.
_SQLITE_LIMITS = (
    "expression tree is too large",
    "too many sql variables",
    "parser stack overflow",
    "too many terms in compound select",
    "too many from clause terms",
    "tables in a join",
    "too many columns",
    "too many arguments on function",
    "too many references to",
    "like or glob pattern too complex",
)
# PostgreSQL's SQLSTATE class 54, program_limit_exceeded: "stack depth limit exceeded" and
# statement_too_complex (54001), too_many_columns (54011), too_many_arguments (54023).
# Every other class the driver raises as an OperationalError is the server failing, not the
# statement: 08 connection exception, 53 insufficient resources (disk full, out of memory,
# too many connections), 57 operator intervention (shutdown, restart, a cancelled query), 58
# system error, and 40 transaction rollback (a serialization failure or a deadlock, which
# the same request survives when it comes again).
_POSTGRES_LIMITS_CLASS = "54"


def refused_as_too_large(error: Exception) -> bool:
    """Whether the database refused a statement for its size, rather than failing to run it.

    The one place that tells them apart: a refusal is the same however often the client
    retries it (400), a failure is not (503). SQLite's busy and locked ("database is
    locked"), cannot-open, I/O, full and out-of-memory errors are failures, as is any error
    without a SQLSTATE (a refused or dropped connection) and the pool's own timeouts.
    """
    original = getattr(error, "orig", None)
    if isinstance(original, sqlite3.Error):
        if getattr(original, "sqlite_errorcode", None) == sqlite3.SQLITE_TOOBIG:
            return True
        message = str(original).lower()
        return any(phrase in message for phrase in _SQLITE_LIMITS)
    sqlstate = getattr(original, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_POSTGRES_LIMITS_CLASS)


def _database_error(req: falcon.Request, resp: falcon.Response, error: Exception, params: Any):
    if refused_as_too_large(error):
        # Retrying would fail the same way: tell the client to ask for less. Filters are
        # bounded before they become SQL (api/scim/filter_limits.py), so a refusal means a
        # statement got past those bounds: worth an operator's look, hence a warning.
        original = getattr(error, "orig", error)
        # The SQLSTATE, or SQLite's message: neither quotes the statement or its values.
        reason = getattr(original, "sqlstate", None) or str(original)
        log.warning(
            "database refused a statement as too large on %s %s: %s", req.method, req.path, reason
        )
        raise ScimError(
            400, "the database cannot run a query this large; use a narrower filter", "tooMany"
        )
    log.warning("database unavailable on %s %s: %s", req.method, req.path, type(error).__name__)
    raise ScimError(
        503,
        "the directory is temporarily unavailable; retry shortly",
        None,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _unexpected(req: falcon.Request, resp: falcon.Response, error: Exception, params: Any):
    # The traceback goes to our log, never to the client.
    log.exception("unhandled error on %s %s", req.method, req.path)
    raise ScimError(500, "internal server error")


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem, naming the attribute, without pydantic's links and type tags."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"] if part != "__root__")
        message = item["msg"]
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems) or "invalid value"
