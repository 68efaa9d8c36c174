"""The SCIM audit middleware: one record per SCIM request, handed to the buffered writer.

It records the method, the route template (never the concrete path, which may hold an
email), the status, the latency, the token's visible prefix and a summary of what the request
did: the resource type and operation, the resource id, and for lists the number of results.
Bodies, filters and secrets are never recorded.

Requests without a valid token are recorded too, against the organization their URL names,
but no faster than that organization may make requests: anyone can send them, and each one
recorded is a row written.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import falcon
from prometheus_client import Counter

from api.middleware import bearer_token
from api.ratelimit import TokenBucket
from models.audit.trail import AuditEntry, AuditWriter
from models.core.db import Database
from models.organizations.rules import organization_id
from models.tokens.bearer import TOKEN_MARKER, is_operator_token, token_prefix

log = logging.getLogger(__name__)

ORGANIZATION_PARAM = "organization"
# The bucket of an organization's requests without a valid token: the rate and burst of its
# own requests, kept apart so that such requests never spend the IdP's allowance.
UNAUTHENTICATED_BUCKET = "unauthenticated:{}"

UNAUTHENTICATED_UNRECORDED = Counter(
    "scimgate_audit_unauthenticated_unrecorded_total",
    "Requests without a valid token left out of the audit trail: their organization's "
    "allowance of them was spent.",
)
_OPERATIONS = {"POST": "create", "PUT": "replace", "PATCH": "patch", "DELETE": "delete"}


class ScimAuditTrail:
    """Records every request routed to an organization's SCIM endpoint, failures included.

    Put it first in the middleware list: its `process_request` then runs first and its
    `process_response` last, so the latency it records covers the whole request.
    """

    def __init__(
        self, writer: AuditWriter, database: Database, unauthenticated: TokenBucket | None = None
    ) -> None:
        self._writer = writer
        self._database = database
        self._unauthenticated = unauthenticated

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.audit_started = time.perf_counter()

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        if ORGANIZATION_PARAM in params:
            req.context.audit_params = dict(params)

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        params = getattr(req.context, "audit_params", None)
        if params is None:
            return
        try:
            entry = self._entry(req, resp, params)
        except Exception:  # an audit problem must never turn a response into an error
            log.exception("audit: could not describe %s %s", req.method, req.uri_template)
            return
        if entry is not None:
            self._writer.record(entry)

    def _entry(
        self, req: falcon.Request, resp: falcon.Response, params: dict[str, Any]
    ) -> AuditEntry | None:
        tenant = getattr(req.context, "tenant", None)
        if tenant is not None:
            org_id, prefix = tenant.id, tenant.token_prefix
            actor = f"scim token {prefix}"
        else:
            # Refused before a tenant was known, or a discovery endpoint that needs no token:
            # record it against the organization named in the URL, if there is one, with the
            # prefix of whatever SCIM token was presented (unverified, and said so). Anyone
            # can send these, so only as many are recorded as the organization may send.
            org_id = organization_id(self._database, params[ORGANIZATION_PARAM])
            if org_id is None or not self._admits_unauthenticated(org_id):
                return None
            prefix = _presented_prefix(req)
            actor = "scim (unauthenticated)"
        status = int(resp.status_code)
        template = req.uri_template or req.path
        target = next(
            (str(v) for k, v in params.items() if k != ORGANIZATION_PARAM), None
        ) or _created_id(resp)
        return AuditEntry(
            organization_id=org_id,
            actor=actor,
            action=_action(template, req.method),
            method=req.method,
            path=template,
            status=status,
            latency_ms=round((time.perf_counter() - req.context.audit_started) * 1000, 2),
            token_prefix=prefix,
            target=target,
            details=_summary(resp, status),
        )

    def _admits_unauthenticated(self, org_id: int) -> bool:
        """Whether a request without a valid token is within its organization's allowance."""
        if self._unauthenticated is None:
            return True
        if self._unauthenticated.take(UNAUTHENTICATED_BUCKET.format(org_id)).allowed:
            return True
        UNAUTHENTICATED_UNRECORDED.inc()
        return False


def _action(template: str, method: str) -> str:
    """The audited action of a route: Users.create, Users.get, Users.search, root.search..."""
    marker = "{" + ORGANIZATION_PARAM + "}"
    segments = [part for part in template.partition(marker)[2].split("/") if part]
    if segments and segments[0].startswith("."):
        segments.insert(0, "root")
    resource_type = segments[0] if segments else "root"
    rest = segments[1:]
    if rest and rest[0].startswith("."):
        return f"{resource_type}.{rest[0][1:]}"
    if method == "GET":
        return f"{resource_type}.{'get' if rest else 'list'}"
    return f"{resource_type}.{_OPERATIONS.get(method, method.lower())}"


def _created_id(resp: falcon.Response) -> str | None:
    media = resp.media if isinstance(resp.media, dict) else {}
    if resp.status_code == 201 and isinstance(media.get("id"), str):
        return media["id"]
    return None


def _summary(resp: falcon.Response, status: int) -> dict[str, Any]:
    media = resp.media if isinstance(resp.media, dict) else {}
    summary: dict[str, Any] = {}
    if status >= 400:
        if media.get("scimType"):
            summary["scimType"] = media["scimType"]
        return summary
    if isinstance(media.get("totalResults"), int):
        summary["totalResults"] = media["totalResults"]
    etag = resp.get_header("ETag")
    if etag:
        summary["version"] = etag
    return summary


def _presented_prefix(req: falcon.Request) -> str | None:
    secret = bearer_token(req.get_header("Authorization"))
    if not secret or not secret.startswith(TOKEN_MARKER) or is_operator_token(secret):
        return None
    return token_prefix(secret) or None
