"""Organizations, their settings, status and members."""

from __future__ import annotations

import falcon

from api.admin.http import json_body, optional_bool, optional_int, required_string, respond
from api.errors import ScimError
from models.admin.administration import Administration
from models.core.limits import MAX_SEAT_LIMIT


class OrganizationsResource:
    """/orgs (list, create) and /orgs/{org} (everything about one organization)."""

    def __init__(self, admin: Administration) -> None:
        self._admin = admin

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        respond(resp, {"organizations": self._admin.list_organizations()})

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = json_body(req)
        domains = body.get("verified_domains") or []
        if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
            raise ScimError(400, "verified_domains must be a list of domain names", "invalidValue")
        created = self._admin.create_organization(
            req.context.actor,
            required_string(body, "slug"),
            required_string(body, "name"),
            domains,
        )
        resp.location = f"{req.path}/{created['slug']}"
        respond(resp, created, falcon.HTTP_201)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        respond(resp, self._admin.organization(org))


class SettingsResource:
    """/orgs/{org}/settings: JIT on or off, JIT alongside SCIM, the seat limit."""

    def __init__(self, admin: Administration) -> None:
        self._admin = admin

    def on_get(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        respond(resp, self._admin.settings(org))

    def on_patch(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        body = json_body(req)
        unknown = set(body) - {"jit_enabled", "jit_with_scim", "seat_limit"}
        if unknown:
            raise ScimError(400, f"unknown settings: {', '.join(sorted(unknown))}", "invalidValue")
        changes: dict[str, object] = {
            "jit_enabled": optional_bool(body, "jit_enabled"),
            "jit_with_scim": optional_bool(body, "jit_with_scim"),
        }
        if "seat_limit" in body:
            # null lifts the limit.
            seat_limit = optional_int(body, "seat_limit", 0, MAX_SEAT_LIMIT)
            changes["seat_limit"] = seat_limit
            changes["clear_seat_limit"] = seat_limit is None
        respond(resp, self._admin.update_settings(req.context.actor, org, **changes))


class StatusResource:
    """/orgs/{org}/status: SCIM on or off, changes waiting for the worker, member counts."""

    def __init__(self, admin: Administration) -> None:
        self._admin = admin

    def on_get(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        respond(resp, self._admin.status(org))


class MembersResource:
    """/orgs/{org}/members: the roster as the product enforces it."""

    def __init__(self, admin: Administration) -> None:
        self._admin = admin

    def on_get(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        respond(resp, {"members": self._admin.roster(org)})
