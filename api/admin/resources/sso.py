"""/orgs/{org}/sso: the SAML identity provider, registered from its metadata XML."""

from __future__ import annotations

import falcon

from api.admin.http import json_body, required_string, respond
from api.errors import ScimError
from api.request import read_raw_body
from models.admin.administration import Administration
from models.sso.connections import MAX_METADATA_BYTES

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
        # Chunked too (no Content-Length): read as every other body is, by api/request.py.
        return read_raw_body(req, min(req.context.max_body_bytes, MAX_METADATA_BYTES))
    if media_type in ("application/json", ""):
        return required_string(json_body(req), "metadata_xml")
    raise ScimError(
        415, f"send the metadata as {' or '.join(XML_MEDIA_TYPES)}, or JSON with metadata_xml"
    )
