"""The stored User document is a fixed point of validation.

An unchanged PUT is answered without validating its body when the body restates the stored
document (api.scim.schemas.restates). That is sound only if validating a stored document, as
a client reads it back, gives that same document: checked here over generated Users.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scim2_models import Context

from api.scim.schemas import parse_user, restates, user_write
from tests.support.scim import okta_user

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCIMGATE = "urn:ietf:params:scim:schemas:extension:scimgate:2.0:User"

words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
optional_attributes = st.fixed_dictionaries(
    {},
    optional={
        "title": words,
        "nickName": words,
        "userType": st.sampled_from(["Employee", "Contractor", ""]),
        "preferredLanguage": st.sampled_from(["en-US", "fr"]),
        "timezone": st.sampled_from(["Europe/Paris", "America/New_York"]),
        "active": st.one_of(st.booleans(), st.sampled_from(["True", "False"])),
        "displayName": st.one_of(words, st.none()),
        "phoneNumbers": st.lists(
            st.fixed_dictionaries(
                {"value": words, "type": st.sampled_from(["work", "mobile"])},
                optional={"primary": st.booleans()},
            ),
            max_size=2,
        ),
        "addresses": st.lists(
            st.fixed_dictionaries(
                {"type": st.just("work")},
                optional={"locality": words, "country": words, "formatted": words},
            ),
            max_size=1,
        ),
        ENTERPRISE: st.fixed_dictionaries(
            {},
            optional={
                "department": words,
                "employeeNumber": words,
                "manager": st.one_of(words, st.fixed_dictionaries({"value": words})),
            },
        ),
        SCIMGATE: st.fixed_dictionaries(
            {},
            optional={"role": st.sampled_from(["member", "editor", "owner"]), "team": words},
        ),
        "x-mapping-nobody-declared": words,
    },
)


def canonical(body: Any, context: Context) -> dict[str, Any]:
    return user_write(parse_user(body, context)).document


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extra=optional_attributes, given_name=words)
def test_a_stored_document_read_back_validates_to_itself(extra: dict, given_name: str):
    body = {**okta_user("ada@example.com", given=given_name), **extra}
    try:
        document = canonical(body, Context.RESOURCE_CREATION_REQUEST)
    except (ValidationError, ValueError):
        return  # refused bodies are never stored
    read_back = {
        **document,
        "id": "2819c223-7f76-453a-919d-413861904646",
        "meta": {"resourceType": "User", "version": 'W/"3"'},
        "groups": [{"value": "e9e30dba", "display": "Tour Guides", "type": "direct"}],
        "password": "1mz050nq",
    }

    assert restates(read_back, document)
    assert canonical(read_back, Context.RESOURCE_REPLACEMENT_REQUEST) == document


def test_a_body_that_differs_in_anything_stored_is_not_a_restatement():
    document = canonical(okta_user("ada@example.com"), Context.RESOURCE_CREATION_REQUEST)

    assert not restates({**document, "title": "Countess"}, document)
    assert not restates({**document, "active": "True"}, document)
    assert not restates({key: v for key, v in document.items() if key != "name"}, document)
    assert not restates([document], document)
