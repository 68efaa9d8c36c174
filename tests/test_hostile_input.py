"""Hostile input at every route: whatever is sent, the answer is never a 5xx or a traceback.

The walk reads the app's route table, so new routes get the same treatment. Each request
carries the credential its route needs, so the input reaches the code that parses it: deep
JSON (beyond the parser and just within it), bodies that are not JSON, XML with entities,
numbers far outside any range, filters with a thousand terms. SCIM routes are walked for
organization acme, admin routes for another organization, so an admin action that does
succeed (enabling SCIM, say) cannot lock the SCIM walk out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import falcon
import falcon.testing
import pytest

from api.routing import Access, Route, declared_routes
from models.db import Database
from tests.support.admin import operator_token
from tests.support.routes import concrete_path
from tests.support.scim import OrganizationFixture, ScimClient, okta_group, okta_user

BULK_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
TOO_DEEP_FOR_ANY_PARSER = 100_000
DEEP_BUT_PARSEABLE = 300


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


def wide_filter(terms: int, attribute: str = "userName") -> str:
    return " or ".join(f'{attribute} eq "user{n}@acme.com"' for n in range(terms))


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">'
        for n in range(1, 10)
    )
    + ']><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
    'entityID="&lol9;"/>'
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&xxe;"/>'
)

# Where an integer is read, under each name it is read by: a JSON parser's limit (beyond
# 64 bits), a database's (2**63), Python's datetime (10**15 seconds).
INTEGER_NAMES = (
    "startIndex", "count", "after", "limit", "grace_seconds", "expires_in_seconds",
    "seat_limit", "seats", "max_age",
)  # fmt: skip
HUGE_NUMBERS = [10**30, 2**63, 2**63 - 1, 10**15, -(2**63)]


def hostile_bodies() -> Iterator[tuple[str, str, bytes]]:
    """(what it is, content type, body)."""
    json_type = "application/scim+json"
    too_deep = b"[" * TOO_DEEP_FOR_ANY_PARSER + b"]" * TOO_DEEP_FOR_ANY_PARSER
    yield "arrays nested beyond the parser", json_type, too_deep
    yield "objects nested beyond the parser", json_type, b'{"a":' * 5_000 + b"1" + b"}" * 5_000
    deep = nested(DEEP_BUT_PARSEABLE)
    yield (
        "deep values in a plausible body",
        json_type,
        json.dumps(
            {
                "schemas": [BULK_SCHEMA, SEARCH_SCHEMA, PATCH_SCHEMA],
                "userName": "deep@acme.com",
                "displayName": deep,
                "name": deep,
                "emails": [deep],
                "members": [deep],
                "filter": "userName pr",
                "Operations": [
                    {"method": "POST", "path": "/Users", "data": deep},
                    {"op": "add", "path": "displayName", "value": deep},
                ],
                "metadata_xml": deep,
                "domains": [deep],
            }
        ).encode(),
    )
    for shape, body in {
        "a Bulk request": {
            "schemas": [BULK_SCHEMA],
            "Operations": [{"method": "POST", "path": "/Users", "bulkId": "a", "data": deep}],
        },
        "a PATCH request": {
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "add", "path": "displayName", "value": deep}],
        },
        "a resource": {"schemas": [USER_SCHEMA], "userName": "deep@acme.com", "name": deep},
    }.items():
        yield f"{shape} with a deep value", json_type, json.dumps(body).encode()
    for number in HUGE_NUMBERS:
        numbers = dict.fromkeys(INTEGER_NAMES, number)
        yield (
            f"every integer {number}",
            json_type,
            json.dumps({**numbers, "Operations": [{"op": "replace", "value": numbers}]}).encode(),
        )
    yield "numbers as exponents", json_type, b'{"count": 1e400, "startIndex": -1e400}'
    yield (
        "a filter of a thousand terms",
        json_type,
        json.dumps({"schemas": [SEARCH_SCHEMA], "filter": wide_filter(1_000)}).encode(),
    )
    yield "not JSON", json_type, b"{'userName': 'ada'"
    yield "not UTF-8", json_type, b'{"userName": "\xff\xfe"}'
    yield "NaN", json_type, b'{"count": NaN}'
    yield "a JSON string", json_type, b'"just a string"'
    yield "billion laughs", "application/xml", BILLION_LAUGHS.encode()
    yield "an external entity", "application/xml", EXTERNAL_ENTITY.encode()
    yield (
        "billion laughs in JSON",
        "application/json",
        json.dumps({"metadata_xml": BILLION_LAUGHS}).encode(),
    )


HOSTILE_QUERIES = {
    **{
        f"every integer {number}": "&".join(f"{name}={number}" for name in INTEGER_NAMES)
        for number in HUGE_NUMBERS
    },
    "negative numbers": "startIndex=-99999999999999999999&count=-99999999999999999999",
    "a filter of a thousand terms": "filter=" + wide_filter(1_000),
    "a filter of 500 email terms": "filter="
    + " or ".join(f'emails[value eq "u{n}@acme.com"]' for n in range(500)),
    "a filter of a thousand member terms": "filter="
    + " or ".join(f'members[value eq "id{n}"]' for n in range(1_000)),
    "a deeply nested filter": "filter=" + "(" * 2_000 + 'userName eq "a"' + ")" * 2_000,
    "a cursor of garbage": "cursor=" + "A" * 5_000,
}


@pytest.fixture
def app(app_with) -> falcon.App:
    """The app with a rate limit the walk cannot spend: a 429 would keep its input out."""
    return app_with(rate_limit_per_second=1_000_000.0, rate_limit_burst=1_000_000)


@pytest.fixture
def initech(database: Database) -> OrganizationFixture:
    return OrganizationFixture.create(database, "initech", ["initech.com"])


@pytest.fixture
def fields(app: falcon.App, acme: OrganizationFixture, initech) -> dict[str, str]:
    """Values for every route field: real ids, so item routes reach their resource."""
    scim = ScimClient(app, acme.slug, acme.token)
    user = scim.post("/Users", okta_user("ada@acme.com")).json
    group = scim.post("/Groups", okta_group("Engineering", user["id"])).json
    return {
        "organization": acme.slug,
        "org": initech.slug,
        "user_id": user["id"],
        "group_id": group["id"],
        "domain": "initech.com",
        "prefix": initech.token[len("scimgate_") :][:8],
        "name": "User",
        "schema_id": USER_SCHEMA,
    }


def walk(app: falcon.App) -> list[Route]:
    """SCIM routes first, then the rest: see the module docstring."""
    return sorted(declared_routes(app), key=lambda route: route.access is not Access.SCIM)


# Answers that mean the input never reached the code that reads it.
NOT_REACHED = {401, 403, 429}


def broken(response: falcon.testing.Result) -> bool:
    text = response.text
    return (
        response.status_code >= 500
        or response.status_code in NOT_REACHED
        or "Traceback" in text
        or 'File "' in text
    )


def test_no_hostile_input_gets_a_5xx_at_any_route(
    app: falcon.App, database: Database, acme, initech, fields
):
    client = falcon.testing.TestClient(app)
    tokens = {Access.SCIM: acme.token, Access.OPERATOR: operator_token(database)}
    failures = []
    for route in walk(app):
        path = concrete_path(route, fields["organization"], fields)
        headers = {}
        if route.access in tokens:
            headers["Authorization"] = f"Bearer {tokens[route.access]}"
        for method in route.methods:
            # DELETE reads no body, and would only take away what the walk still needs.
            if method == "DELETE":
                continue
            if method == "GET":
                cases = [(what, {"query_string": query}) for what, query in HOSTILE_QUERIES.items()]
            else:
                cases = [
                    (what, {"body": body, "headers": {**headers, "Content-Type": content_type}})
                    for what, content_type, body in hostile_bodies()
                ]
            for what, request in cases:
                response = client.simulate_request(method, path, **{"headers": headers, **request})
                if broken(response):
                    failures.append((method, route.template, what, response.status_code))

    assert not failures, "\n".join(map(str, failures))
