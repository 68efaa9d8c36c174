"""/orgs/{org}/jit: the product's SSO service hands over a login it has verified."""

from __future__ import annotations

import falcon

from api.admin.http import json_body, optional_string, required_string, respond
from models.admin.administration import Administration


class JitResource:
    def __init__(self, admin: Administration) -> None:
        self._admin = admin

    def on_post(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        """Create or link the member; 201 when someone joined, 200 when they already had."""
        body = json_body(req)
        result = self._admin.provision_jit(
            req.context.actor,
            org,
            required_string(body, "email"),
            given_name=optional_string(body, "given_name"),
            family_name=optional_string(body, "family_name"),
            display_name=optional_string(body, "display_name"),
        )
        respond(
            resp, result, falcon.HTTP_200 if result["outcome"] == "existing" else falcon.HTTP_201
        )
