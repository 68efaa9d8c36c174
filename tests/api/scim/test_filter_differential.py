"""The SQL filter compiler against scim2-models' `ScimFilter.match`, on SQLite and PostgreSQL.

Hypothesis generates a few users (stored through DirectoryService, as the API stores them) and
filters over every kind of attribute the compiler handles; the ids SQL selects must be the
ids whose rendered resource `ScimFilter[UserResource](filter).match(...)` accepts.

Generated text keeps to characters on which "case-insensitive" means one thing everywhere:
ASCII and a few Latin letters whose lower case is one character (é/É, ø/Ø). Special-cased
characters (U+0130, U+212A) and combining marks are left out: PostgreSQL's lower() and
scim2-models' NFC normalisation of stored values are not the same function there (see
api/scim/sql/filters.py). Where the server refuses a filter scim2-models would evaluate (the
documented refusals), the generator does not produce it.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scim2_models import Context, InvalidFilterException, ScimFilter

from api.resources.users import render_user
from api.scim.schemas import UserResource, parse_user, user_write
from api.scim.sql.filters import compile_filter
from api.scim.sql.users import USER_MAPPING
from models.core.db import Database
from models.core.paging import PageSpec
from models.directory.tables import DirectoryUser
from models.directory.users import DirectoryService
from models.organizations.domains import force_verify_domain
from models.organizations.rules import create_organization

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCIMGATE = "urn:ietf:params:scim:schemas:extension:scimgate:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"

LETTERS = "aAbBzZéÉøØ"
TEXT_ALPHABET = LETTERS + " -_1"
_organizations = itertools.count()

words = st.text(alphabet=TEXT_ALPHABET, min_size=0, max_size=4)
local_parts = st.text(alphabet="aAbBzZ19", min_size=1, max_size=4)


@st.composite
def user_bodies(draw: st.DrawFn, index: int) -> dict[str, Any]:
    domain = draw(st.sampled_from(["example.com", "Example.COM"]))
    body: dict[str, Any] = {"schemas": [CORE], "userName": f"{draw(local_parts)}{index}@{domain}"}
    optional = {
        "displayName": words,
        "title": words,
        "nickName": words,
        "externalId": words,
        "active": st.booleans(),
        "name": st.fixed_dictionaries(
            {}, optional={"givenName": words, "familyName": words, "formatted": words}
        ),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            body[key] = draw(strategy)
    emails = draw(
        st.lists(
            st.fixed_dictionaries(
                {"value": st.builds(lambda p: f"{p}@example.com", local_parts)},
                optional={"type": st.sampled_from(["work", "home", "Work"])},
            ),
            max_size=3,
        )
    )
    if emails:
        primary = draw(st.sampled_from([None, *range(len(emails))]))
        for position, email in enumerate(emails):
            if position == primary:
                email["primary"] = True
            elif draw(st.booleans()):
                email["primary"] = False
        body["emails"] = emails
    if draw(st.booleans()):
        body["phoneNumbers"] = [{"value": draw(words), "type": "work"}]
    if draw(st.booleans()):
        enterprise: dict[str, Any] = {}
        if draw(st.booleans()):
            enterprise["employeeNumber"] = draw(words)
        if draw(st.booleans()):
            enterprise["manager"] = {"value": draw(words), "$ref": "https://scim.test/Users/m"}
        body[ENTERPRISE] = enterprise
        body["schemas"].append(ENTERPRISE)
    if draw(st.booleans()):
        body[SCIMGATE] = {"role": draw(st.sampled_from(["member", "editor", "owner"]))}
        body["schemas"].append(SCIMGATE)
    return body


STRING_ATTRIBUTES = [
    "userName",
    "USERNAME",
    f"{CORE}:userName",
    "displayName",
    "title",
    "nickName",
    "externalId",
    "name.givenName",
    "name.familyName",
    "emails.type",
    "phoneNumbers.value",
    f"{ENTERPRISE}:employeeNumber",
    f"{ENTERPRISE}:manager.value",
    f"{SCIMGATE}:role",
    "schemas",
]
PRESENT_ATTRIBUTES = [
    *STRING_ATTRIBUTES,
    "name",
    "emails",
    "emails.value",
    "emails.primary",
    "phoneNumbers",
    "active",
    f"{ENTERPRISE}:manager",
    "meta.created",
]
STRING_OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]


def quoted(value: str) -> str:
    return ScimFilter.quote(value)


@st.composite
def filters(draw: st.DrawFn, rows: list[DirectoryUser], depth: int = 0) -> str:
    """A filter over the attributes the compiler handles, with values the rows hold."""
    kinds = ["string", "present", "boolean", "email", "datetime", "id", "value_path", "null"]
    if depth < 2:
        kinds += ["and", "or", "not"]
    kind = draw(st.sampled_from(kinds))
    if kind in ("and", "or"):
        left = draw(filters(rows, depth + 1))
        right = draw(filters(rows, depth + 1))
        return f"({left}) {kind} ({right})"
    if kind == "not":
        return f"not ({draw(filters(rows, depth + 1))})"
    if kind == "string":
        attribute = draw(st.sampled_from(STRING_ATTRIBUTES))
        operator = draw(st.sampled_from(STRING_OPERATORS))
        return f"{attribute} {operator} {quoted(draw(words))}"
    if kind == "present":
        return f"{draw(st.sampled_from(PRESENT_ATTRIBUTES))} pr"
    if kind == "boolean":
        attribute = draw(st.sampled_from(["active", "emails.primary"]))
        operator = draw(st.sampled_from(["eq", "ne"]))
        return f"{attribute} {operator} {draw(st.sampled_from(['true', 'false']))}"
    if kind == "email":
        attribute = draw(st.sampled_from(["emails", "emails.value", "emails[value"]))
        operator = draw(st.sampled_from(["eq", "ne", "co", "sw", "ew"]))
        value = draw(st.one_of(local_parts, st.just("EXAMPLE.com")))
        if operator in ("eq", "ne"):
            value = f"{value}@example.com"
        if attribute == "emails[value":
            return f"emails[value {operator} {quoted(value)}]"
        return f"{attribute} {operator} {quoted(value)}"
    if kind == "datetime":
        row = draw(st.sampled_from(rows))
        moment = row.created_at + timedelta(microseconds=draw(st.sampled_from([-1, 0, 1])))
        attribute = draw(st.sampled_from(["meta.created", "meta.lastModified"]))
        operator = draw(st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"]))
        return f"{attribute} {operator} {quoted(moment.isoformat().replace('+00:00', 'Z'))}"
    if kind == "id":
        row = draw(st.sampled_from(rows))
        operator = draw(st.sampled_from(["eq", "ne", "sw", "co"]))
        fragment = row.id if operator in ("eq", "ne") else row.id[: draw(st.integers(1, 8))]
        return f"id {operator} {quoted(draw(st.sampled_from([fragment, fragment.upper()])))}"
    if kind == "null":
        attribute = draw(st.sampled_from(["title", "emails.type", "emails.value", "name"]))
        return f"{attribute} {draw(st.sampled_from(['eq', 'ne']))} null"
    inner = draw(
        st.sampled_from(
            [
                f"type eq {quoted(draw(st.sampled_from(['work', 'WORK', 'home'])))}",
                f"value co {quoted(draw(local_parts))}",
                "primary eq true",
                "not (primary eq true)",
                "type pr",
                f'type eq "work" and value sw {quoted(draw(local_parts))}',
                f'type eq "home" or not (value ew {quoted(draw(local_parts))})',
            ]
        )
    )
    return f"emails[{inner}]"


class Store:
    """An organization of generated users, stored as the API stores them."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.directory = DirectoryService(database)

    def organization(self) -> int:
        with self.database.writing() as session:
            organization = create_organization(session, f"diff-{next(_organizations)}", "Diff")
            force_verify_domain(session, organization, "example.com", "tests", "test fixture")
            return organization.id

    def add(self, organization_id: int, body: dict[str, Any]) -> DirectoryUser:
        write = user_write(parse_user(body, Context.RESOURCE_CREATION_REQUEST))
        return self.directory.create_user(organization_id, write)

    def matching_ids(self, organization_id: int, expression: str) -> set[str]:
        condition = compile_filter(expression, USER_MAPPING)
        page = PageSpec(order_by=(DirectoryUser.id,), keys=(), limit=1000, want_total=False)
        return {row.id for row in self.directory.list_users(organization_id, condition, page).rows}


def oracle_ids(rows: list[DirectoryUser], expression: str) -> set[str]:
    scim_filter = ScimFilter[UserResource](expression)
    matched = set()
    for row in rows:
        resource = UserResource.model_validate(
            render_user(row, "https://scim.test"), scim_ctx=Context.RESOURCE_QUERY_RESPONSE
        )
        if scim_filter.match(resource):
            matched.add(row.id)
    return matched


@pytest.fixture
def store(database: Database) -> Store:
    return Store(database)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), population=st.integers(min_value=1, max_value=5))
def test_sql_selects_exactly_what_scim_filter_match_accepts(
    store: Store, data: st.DataObject, population: int
):
    organization_id = store.organization()
    rows = []
    for index in range(population):
        body = data.draw(user_bodies(index), label=f"user {index}")
        rows.append(store.add(organization_id, body))

    for _ in range(4):
        expression = data.draw(filters(rows), label="filter")
        try:
            expected = oracle_ids(rows, expression)
        except InvalidFilterException:
            event("refused by both")
            with pytest.raises(InvalidFilterException):
                store.matching_ids(organization_id, expression)
            continue
        event("selects some" if expected else "selects none")
        assert store.matching_ids(organization_id, expression) == expected, expression
