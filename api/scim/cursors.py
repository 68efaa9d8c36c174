"""Opaque, tamper-evident cursors for RFC 9865 cursor pagination.

A cursor carries the sort key of the row a page ends (or starts) at, never an offset, so the
next page is a keyset query: it costs the same on page 1 and page 1,000, and a row inserted
meanwhile neither repeats nor hides another. It also names the organization, the query
(filter and order) and when it was issued, and is signed with HMAC-SHA256 under the server's
secret: a cursor edited by hand, or replayed against another query or organization, is
`invalidCursor`; one older than the timeout is `expiredCursor`.

Its text uses only RFC 3986 unreserved characters (base64url and a dot), as RFC 9865 asks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from scim2_models import ExpiredCursorException, InvalidCursorException

FORWARD = "next"
BACKWARD = "previous"


@dataclass(frozen=True)
class CursorPosition:
    """Where a page starts: after (FORWARD) or before (BACKWARD) the row with this key."""

    direction: str
    key: list[Any]


class CursorCodec:
    """Signs and reads cursors with one server secret."""

    def __init__(
        self, secret: str, timeout_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = hashlib.sha256(b"scimgate cursor\0" + secret.encode()).digest()
        self.timeout_seconds = timeout_seconds
        self._clock = clock

    def encode(self, scope: str, position: CursorPosition) -> str:
        payload = orjson.dumps(
            {"s": scope, "d": position.direction, "k": position.key, "t": int(self._clock())}
        )
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def decode(self, scope: str, cursor: str) -> CursorPosition:
        """The position a cursor names; invalidCursor or expiredCursor when it cannot be used."""
        foreign = InvalidCursorException(detail="the cursor is not one this server issued")
        encoded_payload, _, encoded_signature = cursor.partition(".")
        try:
            payload = _unb64(encoded_payload)
            signature = _unb64(encoded_signature)
        except ValueError:
            raise foreign from None
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise foreign
        content = orjson.loads(payload)
        if content.get("s") != scope:
            raise InvalidCursorException(
                detail="the cursor belongs to another query: repeat the filter and sort order"
                " of the request that returned it"
            )
        if self._clock() - content["t"] > self.timeout_seconds:
            raise ExpiredCursorException(
                detail=f"the cursor is older than {self.timeout_seconds} seconds; start again"
            )
        return CursorPosition(direction=content["d"], key=content["k"])

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:16]


def cursor_scope(organization_id: int, resource_type: str, filter_text: str, order: str) -> str:
    """What a cursor is valid for: one organization, resource type, filter and order."""
    digest = hashlib.sha256(
        orjson.dumps([organization_id, resource_type, filter_text, order])
    ).hexdigest()
    return digest[:24]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text:
        raise ValueError("empty")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as error:
        raise ValueError(str(error)) from None
