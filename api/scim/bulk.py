"""Bulk requests (RFC 7644 §3.7): reading the envelope, ordering by bulkId, the response.

Each operation runs as its own request against the same endpoints a client would call, so
this module only decides what runs, in which order, with which ids substituted, and how
the answers are reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scim2_models import InvalidSyntaxException, InvalidValueException, TooManyException

BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
METHODS = ("POST", "PUT", "PATCH", "DELETE")
RESOURCE_ENDPOINTS = ("Users", "Groups")
_BULK_ID = re.compile(r"^bulkId:(?P<id>.+)$")


class TooManyOperations(TooManyException):
    """More operations than maxOperations: RFC 7644 §3.7.4 answers 413."""

    status = 413


@dataclass(frozen=True)
class BulkOperation:
    """One operation of a bulk request, as the client sent it."""

    index: int
    method: str
    path: str
    bulk_id: str | None
    version: str | None
    data: Any


@dataclass(frozen=True)
class BulkRequest:
    operations: list[BulkOperation]
    fail_on_errors: int | None


@dataclass(frozen=True)
class OperationResult:
    """What one operation's request answered."""

    status: int
    location: str | None = None
    version: str | None = None
    body: Any = None


# Runs one operation (method, path, body, If-Match) and returns its answer.
Dispatcher = Callable[[str, str, Any, str | None], OperationResult]


def parse_bulk_request(body: Any, max_operations: int) -> BulkRequest:
    """Read a BulkRequest body; refuse what is not one, or holds too many operations."""
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="the body must be a BulkRequest object")
    lowered = {str(key).lower(): value for key, value in body.items()}
    operations = lowered.get("operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidValueException(detail="Operations must hold one or more operations")
    if len(operations) > max_operations:
        raise TooManyOperations(
            detail=f"{len(operations)} operations is more than maxOperations ({max_operations})"
        )
    fail_on_errors = lowered.get("failonerrors")
    if fail_on_errors is not None and (
        isinstance(fail_on_errors, bool)
        or not isinstance(fail_on_errors, int)
        or fail_on_errors < 1
    ):
        raise InvalidValueException(detail="failOnErrors must be a positive integer")
    parsed = [_operation(index, raw) for index, raw in enumerate(operations)]
    bulk_ids = [operation.bulk_id for operation in parsed if operation.bulk_id]
    if len(bulk_ids) != len(set(bulk_ids)):
        raise InvalidValueException(detail="each bulkId must be unique within the request")
    return BulkRequest(operations=parsed, fail_on_errors=fail_on_errors)


def _operation(index: int, raw: Any) -> BulkOperation:
    if not isinstance(raw, dict):
        raise InvalidValueException(detail=f"operation {index} must be an object")
    fields = {str(key).lower(): value for key, value in raw.items()}
    method, path = fields.get("method"), fields.get("path")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise InvalidValueException(
            detail=f"operation {index}: method must be one of {', '.join(METHODS)}"
        )
    if not isinstance(path, str) or not path.startswith("/"):
        raise InvalidValueException(detail=f"operation {index}: path must start with /")
    bulk_id, version = fields.get("bulkid"), fields.get("version")
    if bulk_id is not None and (not isinstance(bulk_id, str) or not bulk_id):
        raise InvalidValueException(detail=f"operation {index}: bulkId must be a string")
    if version is not None and not isinstance(version, str):
        raise InvalidValueException(detail=f"operation {index}: version must be a string")
    method = method.upper()
    if method != "DELETE" and fields.get("data") is None:
        raise InvalidValueException(detail=f"operation {index}: {method} needs data")
    if method == "POST" and bulk_id is None:
        raise InvalidValueException(detail=f"operation {index}: POST needs a bulkId")
    return BulkOperation(index, method, path, bulk_id, version, fields.get("data"))


def bulk_id_references(value: Any) -> set[str]:
    """The bulkIds a value refers to, as whole strings `bulkId:<id>` anywhere inside it."""
    if isinstance(value, str):
        match = _BULK_ID.match(value)
        return {match.group("id")} if match else set()
    if isinstance(value, dict):
        return set().union(*(bulk_id_references(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(bulk_id_references(item) for item in value))
    return set()


def substitute(value: Any, created: dict[str, str]) -> Any:
    """The value with every `bulkId:<id>` replaced by the id that operation created."""
    if isinstance(value, str):
        match = _BULK_ID.match(value)
        return created.get(match.group("id"), value) if match else value
    if isinstance(value, dict):
        return {key: substitute(item, created) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, created) for item in value]
    return value


def _path_segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


@dataclass
class BulkRun:
    """Runs a bulk request's operations, each once its bulkId references can be resolved."""

    request: BulkRequest
    dispatch: Dispatcher
    results: list[dict[str, Any]] = field(default_factory=list)
    _created: dict[str, str] = field(default_factory=dict)
    _failed: set[str] = field(default_factory=set)
    _errors: int = 0

    def run(self) -> dict[str, Any]:
        pending = list(self.request.operations)
        declared = {op.bulk_id for op in pending if op.bulk_id}
        while pending and not self._stopped():
            ready = [op for op in pending if self._references(op) <= set(self._created)]
            blocked = [op for op in pending if self._references(op) & self._failed]
            unknown = [op for op in pending if self._references(op) - declared]
            if not (ready or blocked or unknown):
                # Whatever is left waits on itself: a cycle of references.
                for op in pending:
                    self._fail(op, 409, "its bulkId references form a cycle")
                    if self._stopped():
                        break
                break
            operation = (ready or blocked or unknown)[0]
            pending.remove(operation)
            if operation in ready:
                self._execute(operation)
            elif operation in blocked:
                self._fail(operation, 409, "an operation it refers to by bulkId failed")
            else:
                missing = ", ".join(sorted(self._references(operation) - declared))
                self._fail(operation, 400, f"no operation has bulkId {missing}", "invalidValue")
        return {"schemas": [BULK_RESPONSE_SCHEMA], "Operations": self.results}

    def _stopped(self) -> bool:
        limit = self.request.fail_on_errors
        return limit is not None and self._errors >= limit

    @staticmethod
    def _references(operation: BulkOperation) -> set[str]:
        return bulk_id_references(operation.data) | bulk_id_references(
            _path_segments(operation.path)
        )

    def _execute(self, operation: BulkOperation) -> None:
        segments = [
            substitute(segment, self._created) for segment in _path_segments(operation.path)
        ]
        if not segments or segments[0] not in RESOURCE_ENDPOINTS or len(segments) > 2:
            self._fail(operation, 400, "bulk operations target /Users or /Groups", "invalidPath")
            return
        path = "/" + "/".join(segments)
        result = self.dispatch(
            operation.method, path, substitute(operation.data, self._created), operation.version
        )
        entry: dict[str, Any] = {"method": operation.method}
        if operation.bulk_id:
            entry["bulkId"] = operation.bulk_id
        if result.version:
            entry["version"] = result.version
        if result.location:
            entry["location"] = result.location
        entry["status"] = str(result.status)
        if result.body is not None:
            entry["response"] = result.body
        self.results.append(entry)
        if result.status >= 400:
            self._errors += 1
            if operation.bulk_id:
                self._failed.add(operation.bulk_id)
        elif operation.method == "POST" and operation.bulk_id and isinstance(result.body, dict):
            self._created[operation.bulk_id] = str(result.body.get("id"))

    def _fail(
        self, operation: BulkOperation, status: int, detail: str, scim_type: str | None = None
    ) -> None:
        error: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status)}
        if scim_type:
            error["scimType"] = scim_type
        error["detail"] = detail
        entry: dict[str, Any] = {"method": operation.method}
        if operation.bulk_id:
            entry["bulkId"] = operation.bulk_id
            self._failed.add(operation.bulk_id)
        entry["status"] = str(status)
        entry["response"] = error
        self.results.append(entry)
        self._errors += 1
