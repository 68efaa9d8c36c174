"""Speaking SCIM in tests: an organization with a token, a client, and IdP-shaped payloads."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import falcon
import falcon.testing

from models.core.db import Database
from models.organizations.domains import force_verify_domain
from models.organizations.rules import create_organization
from models.sso.connections import set_sso_connection
from models.tokens.scim import enable_scim
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


class ScimClient:
    """falcon.testing with the organization's base path and bearer token filled in."""

    def __init__(self, app: falcon.App, organization: str, token: str) -> None:
        self._client = falcon.testing.TestClient(app)
        self.base = f"/scim/v2/{organization}"
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> falcon.testing.Result:
        all_headers = {"Authorization": f"Bearer {token or self.token}", "Accept": SCIM_JSON}
        if isinstance(body, bytes):
            kwargs["body"] = body
        elif body is not None:
            all_headers["Content-Type"] = SCIM_JSON
            kwargs["body"] = json.dumps(body)
        all_headers.update(headers or {})
        return self._client.simulate_request(
            method, self.base + path, headers=all_headers, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> falcon.testing.Result:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> falcon.testing.Result:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> falcon.testing.Result:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> falcon.testing.Result:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> falcon.testing.Result:
        return self.request("DELETE", path, **kwargs)


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
