"""/orgs/{org}/domains: add, list, show, remove, verify by DNS or by audited override."""

from __future__ import annotations

import falcon

from api.admin.http import json_body, optional_bool, optional_string, required_string, respond
from models.admin.administration import Administration


class DomainsResource:
    def __init__(self, admin: Administration) -> None:
        self._admin = admin

    def on_get(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        respond(resp, {"domains": self._admin.list_domains(org)})

    def on_post(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        """Add a domain; the answer holds the TXT record to publish."""
        domain = self._admin.add_domain(
            req.context.actor, org, required_string(json_body(req), "name")
        )
        resp.location = f"{req.path}/{domain['name']}"
        respond(resp, domain, falcon.HTTP_201)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, org: str, domain: str):
        respond(resp, self._admin.domain(org, domain))

    def on_delete_item(self, req: falcon.Request, resp: falcon.Response, org: str, domain: str):
        self._admin.remove_domain(req.context.actor, org, domain)
        resp.status = falcon.HTTP_204

    def on_post_verify(self, req: falcon.Request, resp: falcon.Response, org: str, domain: str):
        """Verify by DNS; `{"force": true, "reason": "..."}` is the operator override."""
        body = json_body(req)
        verified = self._admin.verify_domain(
            req.context.actor,
            org,
            domain,
            force=bool(optional_bool(body, "force")),
            reason=optional_string(body, "reason"),
        )
        respond(resp, verified)
