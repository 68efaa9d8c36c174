"""The discovery endpoints; they describe the server and need no token (`Access.PUBLIC`)."""

from __future__ import annotations

import falcon

from api.errors import ScimError
from api.scim.discovery import resource_types, schemas, service_provider_config
from api.scim.listing import list_response


def _base_url(req: falcon.Request, organization: str) -> str:
    return f"{req.context.public_url or req.prefix}/scim/v2/{organization}"


class ServiceProviderConfigResource:
    def __init__(
        self,
        max_page_size: int,
        cursor_timeout_seconds: int,
        bulk_max_operations: int,
        max_payload_size: int,
    ) -> None:
        self._limits = (
            max_page_size,
            cursor_timeout_seconds,
            bulk_max_operations,
            max_payload_size,
        )

    def on_get(self, req: falcon.Request, resp: falcon.Response, organization: str) -> None:
        resp.media = service_provider_config(_base_url(req, organization), *self._limits)


class ResourceTypesResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response, organization: str) -> None:
        found = resource_types(_base_url(req, organization))
        resp.media = list_response(found, len(found), 1)

    def on_get_item(
        self, req: falcon.Request, resp: falcon.Response, organization: str, name: str
    ) -> None:
        for resource_type in resource_types(_base_url(req, organization)):
            if resource_type["id"] == name:
                resp.media = resource_type
                return
        raise ScimError(404, f"no resource type {name!r}")


class SchemasResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response, organization: str) -> None:
        found = schemas(_base_url(req, organization))
        resp.media = list_response(found, len(found), 1)

    def on_get_item(
        self, req: falcon.Request, resp: falcon.Response, organization: str, schema_id: str
    ) -> None:
        for schema in schemas(_base_url(req, organization)):
            if schema["id"] == schema_id:
                resp.media = schema
                return
        raise ScimError(404, f"no schema {schema_id!r}")
