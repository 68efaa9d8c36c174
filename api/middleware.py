"""Cross-cutting request work: settings on the context, body limits, SCIM bearer auth."""

from __future__ import annotations

import logging
import time
from typing import Any

import falcon

from api.authentication import Authenticate
from api.errors import ScimError
from api.ratelimit import PAID_BY_BULK
from api.request import body_too_large
from models.core.logs import bind_log_context

log = logging.getLogger(__name__)

BEARER = "bearer "
# Set by /Bulk on each operation it runs through the application: the organization the bulk
# request authenticated as. WSGI servers put headers under HTTP_*, so no client can set it.
BULK_TENANT = "scimgate.bulk_tenant"


class RequestSettings:
    """Puts the limits and the public URL where resources and helpers read them."""

    def __init__(self, public_url: str | None, max_body_bytes: int) -> None:
        self._public_url = public_url
        self._max_body_bytes = max_body_bytes

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.public_url = self._public_url
        req.context.max_body_bytes = self._max_body_bytes
        # Refuse an oversized body before anything reads it.
        if req.content_length is not None and req.content_length > self._max_body_bytes:
            raise body_too_large(self._max_body_bytes)

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        # A body within the limit that nobody read (a 401, a 415, a route that takes none) is
        # read to its end here. gunicorn drains at most 64 KiB of it and otherwise closes the
        # connection after an answer that said keep-alive (WSGI gives no way to say close),
        # so the client's next request on it would fail unanswered. Past the limit, closing
        # is the point.
        if req.content_length and req.content_length <= self._max_body_bytes:
            drain_unread_body(req)


# An IdP sends its body in milliseconds; one not sent within this is left to gunicorn,
# whose own drain then gives up and closes the connection (as it did before this drain).
DRAIN_SECONDS = 2.0
DRAIN_CHUNK = 64 * 1024


def drain_unread_body(req: falcon.Request) -> None:
    """Read what is left of the body, for at most DRAIN_SECONDS in all; under gunicorn only.

    Under another server there is no socket to bound the reads by, and that server drains
    or closes as it sees fit. Whatever is left when time is up, gunicorn's own drain finds,
    and it then closes the connection.
    """
    sock = req.env.get("gunicorn.socket")
    # Most bodies were read whole by their route: nothing to wait for, no socket to touch.
    if sock is None or req.bounded_stream.eof:
        return
    previous = sock.gettimeout()
    deadline = time.monotonic() + DRAIN_SECONDS
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            if not req.bounded_stream.read(DRAIN_CHUNK):
                return
    except Exception as error:
        # The client went away, stalled or broke the body: gunicorn closes the connection.
        log.debug("an unread body could not be drained: %s", type(error).__name__)
    finally:
        sock.settimeout(previous)


class ScimAuthentication:
    """A SCIM route needs the bearer token of the organization named in its URL.

    Any failure is the same 401, so a caller learns nothing about which organizations exist
    or which tokens belong to whom.
    """

    def __init__(self, authenticate: Authenticate) -> None:
        self._authenticate = authenticate

    def authenticate(self, req: falcon.Request, params: dict[str, Any]) -> None:
        """Put the tenant on `req.context.tenant`, or raise the 401."""
        organization = params.get("organization")
        bulk_tenant = req.env.get(BULK_TENANT)
        if bulk_tenant is not None and bulk_tenant.slug == organization:
            # An operation of a Bulk request that was authenticated, and paid for, as a whole.
            req.context.tenant = bulk_tenant
            req.context.rate_decision = PAID_BY_BULK
            return
        secret = bearer_token(req.get_header("Authorization"))
        admission = self._authenticate(organization, secret) if secret and organization else None
        tenant = admission.tenant if admission is not None else None
        if tenant is None:
            raise ScimError(
                401,
                "a valid bearer token for this organization is required",
                headers={"WWW-Authenticate": 'Bearer realm="scimgate"'},
            )
        req.context.tenant = tenant
        if admission is not None and admission.decision is not None:
            req.context.rate_decision = admission.decision
        # Every later line of this request says whose it is; the prefix names the token
        # without revealing it.
        bind_log_context(organization=tenant.slug, token_prefix=tenant.token_prefix)


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header, or None."""
    if not header or not header.lower().startswith(BEARER):
        return None
    token = header[len(BEARER) :].strip()
    return token or None
