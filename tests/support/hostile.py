"""Hostile input, shared by the hostile-input tests and the soak benchmark (bench/soak.py).

Deep JSON (beyond the parser and just within it), bodies that are not JSON, XML with
entities, numbers far outside any range, filters with a thousand terms: what an attacker
throws at a route once it holds the credential the route needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

BULK_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
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
    "startIndex",
    "count",
    "after",
    "limit",
    "grace_seconds",
    "expires_in_seconds",
    "seat_limit",
    "seats",
    "max_age",
)
# Where a name or address is read, SCIM's and the admin API's: each has a column of some size.
LONG_NAME_FIELDS = (
    "userName",
    "displayName",
    "externalId",
    "name",
    "slug",
    "url",
    "domain",
    "reason",
    "entity_id",
    "sso_url",
    "actor",
    "role",
    "title",
    "nickName",
)
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
    long_name = "x" * 10_000
    yield (
        "every name longer than any column",
        json_type,
        json.dumps(
            {
                "schemas": [USER_SCHEMA, GROUP_SCHEMA],
                **dict.fromkeys(LONG_NAME_FIELDS, long_name),
                "emails": [{"value": f"{long_name}@acme.com", "primary": True}],
                "members": [{"value": long_name, "display": long_name}],
                "Operations": [
                    {"op": "replace", "value": dict.fromkeys(LONG_NAME_FIELDS, long_name)}
                ],
            }
        ).encode(),
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


def hostile_cases(method: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what it is, the request's parts) for one method: a query for GET, a body otherwise."""
    if method == "GET":
        for what, query in HOSTILE_QUERIES.items():
            yield what, {"query_string": query}
        return
    for what, content_type, body in hostile_bodies():
        yield what, {"body": body, "content_type": content_type}
