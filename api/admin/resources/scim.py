"""/orgs/{org}/scim: SCIM on and off, token rotation and revocation."""

from __future__ import annotations

from datetime import timedelta

import falcon

from api.admin.http import json_body, optional_seconds, respond
from models.admin.administration import Administration
from models.tokens.scim import MAX_ROTATION_GRACE

DEFAULT_GRACE = timedelta(hours=24)


class ScimResource:
    def __init__(self, admin: Administration) -> None:
        self._admin = admin

    def on_get(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        respond(resp, self._admin.scim(org))

    def on_post_enable(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        """Turn SCIM on; the token in the answer is shown this once."""
        expires_in = optional_seconds(json_body(req), "expires_in_seconds")
        respond(resp, self._admin.enable_scim(req.context.actor, org, expires_in))

    def on_post_disable(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        respond(resp, self._admin.disable_scim(req.context.actor, org))

    def on_post_rotate(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        """A new token; the old ones keep working for `grace_seconds` (default 24 h)."""
        body = json_body(req)
        grace = optional_seconds(body, "grace_seconds", MAX_ROTATION_GRACE)
        respond(
            resp,
            self._admin.rotate_scim_token(
                req.context.actor,
                org,
                DEFAULT_GRACE if grace is None else grace,
                optional_seconds(body, "expires_in_seconds"),
            ),
        )

    def on_delete_token(
        self, req: falcon.Request, resp: falcon.Response, org: str, prefix: str
    ) -> None:
        respond(resp, self._admin.revoke_scim_token(req.context.actor, org, prefix))
