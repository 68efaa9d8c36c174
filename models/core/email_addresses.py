"""Which email addresses a user can have: one rule, for users' emails and organizations' domains.

SCIM checks every email of a user with pydantic's `EmailStr` (scim2-models declares them so),
which asks email-validator whether the address could be delivered on the public internet.
Special-use and reserved names cannot (.test, .invalid, .local, .localhost, .onion, .arpa and
the names under them), so an organization whose only domain is one of them could never have
a user provisioned. Its domains are therefore checked by the same function, here: a domain
it accepts is one whose users SCIM accepts too. example.com is one of those: RFC 2606
reserves it for documentation, but email-validator lets it (and its users) through.
"""

from __future__ import annotations

from pydantic.networks import validate_email
from pydantic_core import PydanticCustomError

# Any valid local part does: the rule for the domain is the same whatever comes before it.
_SAMPLE_LOCAL_PART = "postmaster"


def email_address_problem(address: str) -> str | None:
    """Why `address` cannot be a user's email, as `EmailStr` says it; None if it can be."""
    try:
        validate_email(address)
    except PydanticCustomError as error:
        return str((error.context or {}).get("reason") or error)
    return None


def email_domain_problem(domain: str) -> str | None:
    """Why no address in `domain` can be a user's email; None if addresses in it can be."""
    return email_address_problem(f"{_SAMPLE_LOCAL_PART}@{domain}")
