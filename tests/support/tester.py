"""What scim2-tester needs to exercise scimgate: users whose addresses pass its domain rule.

scim2-tester fills attributes with random strings, and picks a field's `examples` when the
client's model declares some. scimgate only provisions userNames and primary emails in a
verified domain, so the client describes Users whose `userName` and email `value` examples
are fresh addresses in the organization's domain; everything else is as the server says.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import httpx2
from pydantic import EmailStr, Field
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import Email, Required, ResourceType, ScimProvider, Uniqueness, User

from api.scim.groups import GroupResource
from api.scim.schemas import ScimgateEnterpriseUser, ScimgateUser


class FreshAddresses(list[str]):
    """A one-item list whose item is a new address each time it is indexed (random.choice).

    A list, so that pydantic can still render it in a JSON schema (as its placeholder).
    """

    def __init__(self, domain: str) -> None:
        super().__init__([f"someone@{domain}"])
        self._domain = domain

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return super().__getitem__(index)
        if index not in (0, -1):
            raise IndexError(index)
        return f"tester-{uuid.uuid4().hex[:12]}@{self._domain}"


ADDRESSES = FreshAddresses("example.com")


class TesterEmail(Email):
    value: EmailStr | None = Field(None, examples=ADDRESSES)


class TesterUser(User):
    user_name: Annotated[str | None, Uniqueness.server, Required.true] = Field(
        None,
        examples=ADDRESSES,
    )
    emails: list[TesterEmail] | None = None


def checker_client(base_url: str, token: str) -> SyncSCIMClient:
    """A scim2-client on a live server, describing its resources with the models above."""
    http = httpx2.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    published = http.get("/ResourceTypes").json()["Resources"]
    provider = ScimProvider(
        models=[TesterUser, ScimgateEnterpriseUser, ScimgateUser, GroupResource],
        resource_types=[ResourceType.model_validate(item) for item in published],
    )
    return SyncSCIMClient(http, provider=provider)
