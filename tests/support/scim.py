"""Speaking SCIM in tests: an organization with a token, a client, and IdP-shaped payloads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import falcon
import falcon.testing

from models.core.db import Database
from models.organizations.domains import force_verify_domain
from models.organizations.rules import create_organization
from models.sso.connections import set_sso_connection
from models.tokens.scim import enable_scim
from tests.support.clients import BearerClient
from tests.support.saml import idp_metadata

SCIM_JSON = "application/scim+json; charset=utf-8"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass(frozen=True)
class OrganizationFixture:
    id: int
    slug: str
    token: str

    @classmethod
    def create(cls, database: Database, slug: str, domains: list[str]) -> OrganizationFixture:
        """An organization ready for SCIM: its domains verified, an SSO connection, a token."""
        with database.writing() as session:
            organization = create_organization(session, slug, slug.title())
            for domain in domains:
                force_verify_domain(
                    session, organization, domain, "tests", "set up by the test fixture"
                )
            set_sso_connection(session, organization, idp_metadata(), "tests")
            token = enable_scim(session, organization).secret
            return cls(id=organization.id, slug=slug, token=token)


class ScimClient(BearerClient):
    """An organization's SCIM API, as its IdP: SCIM JSON in and out under its base URL."""

    media_type = SCIM_JSON
    accept = SCIM_JSON
    # A str body is a JSON string, as an IdP would send it; bytes go as they are.
    raw_bodies = (bytes,)

    def __init__(self, app: falcon.App, organization: str, token: str) -> None:
        super().__init__(app, f"/scim/v2/{organization}", token)


def okta_user(email: str, given: str = "Ada", family: str = "Lovelace", **extra: Any) -> dict:
    """The body Okta POSTs to create a user (see IdP traffic notes)."""
    return {
        "schemas": [USER_SCHEMA],
        "userName": email,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": email, "type": "work"}],
        "displayName": f"{given} {family}",
        "locale": "en-US",
        "externalId": "00u" + hashlib.sha256(email.encode()).hexdigest()[:17],
        "groups": [],
        "password": "1mz050nq",
        "active": True,
        **extra,
    }


def patch_op(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


def user_filter(email: str) -> str:
    return f'userName eq "{email}"'


GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTRA_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
SCIMGATE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:scimgate:2.0:User"


def okta_group(name: str, *member_ids: str) -> dict:
    """The body Okta POSTs when it pushes a group."""
    return {
        "schemas": [GROUP_SCHEMA],
        "displayName": name,
        "members": [{"value": member_id} for member_id in member_ids],
    }


def entra_group(name: str, external_id: str = "0d3f4c6e-group") -> dict:
    """The body Entra ID POSTs to create a group: its own schema added, no members."""
    return {
        "schemas": [GROUP_SCHEMA, ENTRA_GROUP_SCHEMA],
        "externalId": external_id,
        "displayName": name,
    }


def members(*user_ids: str) -> list[dict]:
    return [{"value": user_id} for user_id in user_ids]
