"""ServiceProviderConfig, ResourceTypes and Schemas (RFC 7644 §4): what the server really does."""

from __future__ import annotations

from functools import cache
from typing import Any

from scim2_models import Context, User

from api.scim.groups import CORE_GROUP_SCHEMA, GroupResource
from api.scim.listing import DEFAULT_PAGE_SIZE
from api.scim.schemas import (
    CORE_USER_SCHEMA,
    ENTERPRISE_USER_SCHEMA,
    ScimgateEnterpriseUser,
    ScimgateUser,
)
from models.directory.users import SCIMGATE_USER_SCHEMA

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
DOCUMENTATION_URI = "https://github.com/scimgate/scimgate#readme"


def service_provider_config(
    base_url: str,
    max_page_size: int,
    cursor_timeout_seconds: int,
    bulk_max_operations: int,
    max_payload_size: int,
) -> dict[str, Any]:
    return {
        "schemas": [SPC_SCHEMA],
        "documentationUri": DOCUMENTATION_URI,
        "patch": {"supported": True},
        "bulk": {
            "supported": True,
            "maxOperations": bulk_max_operations,
            "maxPayloadSize": max_payload_size,
        },
        # RFC 7643 §5 gives `filter` only `supported` and `maxResults`, and no description:
        # the bounds on a filter itself (terms and nesting, api/scim/filter_limits.py) are
        # stated in the README's Limits, which documentationUri leads to.
        "filter": {"supported": True, "maxResults": max_page_size},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        # RFC 9865: both methods; index unless a request sends `cursor`.
        "pagination": {
            "cursor": True,
            "index": True,
            "defaultPaginationMethod": "index",
            "defaultPageSize": min(DEFAULT_PAGE_SIZE, max_page_size),
            "maxPageSize": max_page_size,
            "cursorTimeout": cursor_timeout_seconds,
        },
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "The organization's SCIM token, sent as `Authorization: Bearer`.",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base_url}/ServiceProviderConfig",
        },
    }


def resource_types(base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "description": "A person provisioned into the organization",
            "endpoint": "/Users",
            "schema": CORE_USER_SCHEMA,
            "schemaExtensions": [
                {"schema": ENTERPRISE_USER_SCHEMA, "required": False},
                {"schema": SCIMGATE_USER_SCHEMA, "required": False},
            ],
            "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/User"},
        },
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "description": "A group of users; it becomes a team of the organization",
            "endpoint": "/Groups",
            "schema": CORE_GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": {
                "resourceType": "ResourceType",
                "location": f"{base_url}/ResourceTypes/Group",
            },
        },
    ]


def schemas(base_url: str) -> list[dict[str, Any]]:
    documents = []
    for schema in _schema_documents():
        documents.append(
            {
                **schema,
                "meta": {
                    "resourceType": "Schema",
                    "location": f"{base_url}/Schemas/{schema['id']}",
                },
            }
        )
    return documents


@cache
def _schema_documents() -> tuple[dict[str, Any], ...]:
    # Our subclasses loosen or tighten an attribute; the schema keeps its standard name.
    named = (
        (User, "User"),
        (ScimgateEnterpriseUser, "EnterpriseUser"),
        (ScimgateUser, "ScimgateUser"),
        (GroupResource, "Group"),
    )
    return tuple(
        {**model.to_schema().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE), "name": name}
        for model, name in named
    )
