"""Every admin route in one table. To add an endpoint: write a resource in
`api/admin/resources/` over `Administration`, then add one row below. Every route here is
added with `Access.OPERATOR`, so operator authentication covers it already.
"""

from __future__ import annotations

from typing import Any

import falcon

from api.admin.auth import ADMIN_ROOT
from api.admin.resources.audit import AuditResource
from api.admin.resources.domains import DomainsResource
from api.admin.resources.events import EventsResource
from api.admin.resources.jit import JitResource
from api.admin.resources.organizations import (
    MembersResource,
    OrganizationsResource,
    SettingsResource,
    StatusResource,
)
from api.admin.resources.scim import ScimResource
from api.admin.resources.sso import SsoResource
from api.errors import RETRY_AFTER_SECONDS, ScimError
from api.routing import Access
from models.admin.administration import Administration
from models.audit.trail import AuditWriter
from models.organizations.domains import ResolverUnavailable

ORG = "/orgs/{org}"


def admin_routes(
    admin: Administration, audit_writer: AuditWriter
) -> list[tuple[str, Any, str | None]]:
    """(path under ADMIN_ROOT, resource, responder suffix) for every admin endpoint."""
    organizations = OrganizationsResource(admin)
    domains = DomainsResource(admin)
    scim = ScimResource(admin)
    return [
        ("/orgs", organizations, None),
        (ORG, organizations, "item"),
        (f"{ORG}/status", StatusResource(admin), None),
        (f"{ORG}/settings", SettingsResource(admin), None),
        (f"{ORG}/members", MembersResource(admin), None),
        (f"{ORG}/audit", AuditResource(admin, audit_writer), None),
        (f"{ORG}/events", EventsResource(admin), None),
        (f"{ORG}/domains", domains, None),
        (f"{ORG}/domains/{{domain}}", domains, "item"),
        (f"{ORG}/domains/{{domain}}/verify", domains, "verify"),
        (f"{ORG}/sso", SsoResource(admin), None),
        (f"{ORG}/scim", scim, None),
        (f"{ORG}/scim/enable", scim, "enable"),
        (f"{ORG}/scim/disable", scim, "disable"),
        (f"{ORG}/scim/rotate", scim, "rotate"),
        (f"{ORG}/scim/tokens/{{prefix}}", scim, "token"),
        (f"{ORG}/jit", JitResource(admin), None),
    ]


def install_admin_routes(app: falcon.App, admin: Administration, audit_writer: AuditWriter) -> None:
    app.add_error_handler(ResolverUnavailable, _resolver_unavailable)
    for path, resource, suffix in admin_routes(admin, audit_writer):
        if suffix:
            app.add_route(ADMIN_ROOT + path, resource, suffix=suffix, access=Access.OPERATOR)
        else:
            app.add_route(ADMIN_ROOT + path, resource, access=Access.OPERATOR)


def _resolver_unavailable(
    req: falcon.Request, resp: falcon.Response, error: ResolverUnavailable, params: Any
) -> None:
    # DNS said nothing either way: the admin should simply try again in a moment.
    raise ScimError(503, str(error), headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
