"""/orgs/{org}/sso: the SAML identity provider, registered from its metadata XML."""

from __future__ import annotations

import falcon

from api.admin.http import json_body, required_string, respond
from api.errors import ScimError
from api.request import body_too_large
from models.admin import Administration
from models.sso import MAX_METADATA_BYTES

XML_MEDIA_TYPES = ("application/samlmetadata+xml", "application/xml", "text/xml")


class SsoResource:
    def __init__(self, admin: Administration) -> None:
        self._admin = admin

    def on_get(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        respond(resp, self._admin.sso(org))

    def on_put(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        """Register or replace the IdP: the metadata XML as the body, or JSON `metadata_xml`."""
        respond(resp, self._admin.set_sso(req.context.actor, org, _metadata(req)))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        self._admin.remove_sso(req.context.actor, org)
        resp.status = falcon.HTTP_204


def _metadata(req: falcon.Request) -> bytes | str:
    media_type = (req.content_type or "").split(";", 1)[0].strip().lower()
    if media_type in XML_MEDIA_TYPES:
        limit = min(req.context.max_body_bytes, MAX_METADATA_BYTES)
        raw = req.bounded_stream.read(limit + 1)
        if len(raw) > limit:
            raise body_too_large(limit)
        return raw
    if media_type in ("application/json", ""):
        return required_string(json_body(req), "metadata_xml")
    raise ScimError(
        415, f"send the metadata as {' or '.join(XML_MEDIA_TYPES)}, or JSON with metadata_xml"
    )
