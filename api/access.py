"""Who may call what: every request is authenticated by the route it matched.

The route's declared `Access` (api/routing.py) picks the check: the organization's SCIM
token, an operator token, or none. Paths that another spelling would route the same way
(empty segments, dot segments, an encoded slash) are refused before routing, so the audit
trail, the logs and the rate limit all see one spelling of each route.
"""

from __future__ import annotations

from typing import Any

import falcon

from api.admin.auth import OperatorAuthentication
from api.errors import ScimError
from api.middleware import ScimAuthentication
from api.routing import Access, DeclaredRouter

# Percent-encoded slash and backslash: servers decode them into the path, where they would
# read as separators that the client never sent as such.
_ENCODED_SEPARATORS = ("%2f", "%5c")


class RouteAccess:
    """Refuses ambiguous paths, then runs the check the matched route declared.

    A route with no declared access cannot exist (`DeclaredRouter` refuses it), and an
    unmatched path reaches no resource: Falcon answers it 404 without calling
    `process_resource`.
    """

    def __init__(
        self,
        router: DeclaredRouter,
        scim: ScimAuthentication,
        operator: OperatorAuthentication,
    ) -> None:
        self._router = router
        self._scim = scim
        self._operator = operator

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        problem = ambiguous_path(req.path, req.env.get("RAW_URI") or req.env.get("REQUEST_URI"))
        if problem is not None:
            raise ScimError(404, f"no such path: {problem}")

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        access = self._router.access(req.uri_template)
        req.context.access = access
        if access is Access.SCIM:
            self._scim.authenticate(req, params)
        elif access is Access.OPERATOR:
            self._operator.authenticate(req)
        elif access is not Access.PUBLIC:
            # The router refuses undeclared routes; should one slip through, it serves nothing.
            raise ScimError(404, "no such path")


def ambiguous_path(path: str, raw_uri: str | None) -> str | None:
    """Why a path has more than one spelling of its route, or None when it has one.

    `path` is the decoded path (trailing slash already stripped); `raw_uri` the request
    target as the client sent it, when the server tells (gunicorn's RAW_URI).
    """
    if not path.startswith("/"):
        return "the path does not start with a slash"
    if path != "/" and any(segment in ("", ".", "..") for segment in path.split("/")[1:]):
        return "the path has an empty or dot segment"
    if raw_uri:
        target = raw_uri.split("?", 1)[0].lower()
        if any(encoded in target for encoded in _ENCODED_SEPARATORS):
            return "the path has an encoded slash"
    return None
