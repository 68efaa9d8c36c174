"""Limits on what a request may hold: how deep its JSON nests, and how large its integers are.

Bad input is a 400 that names the limit, never a 500: a body nested past MAX_JSON_DEPTH
(wherever it is sent, SCIM, Bulk or admin), a startIndex no database offset can hold, a
duration no date can reach, an id past 64 bits. Each test sends all its cases to one app,
since setting up an app on a fresh database costs more than the requests do.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.json_depth import MAX_JSON_DEPTH, nests_deeper_than
from tests.support.admin import AdminClient
from tests.support.scim import OrganizationFixture, ScimClient, okta_group, okta_user, patch_op

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
TOO_DEEP = f"more than {MAX_JSON_DEPTH} levels deep"
MAX_START_INDEX = 2**31 - 1
MAX_INTEGER = 2**31 - 1
MAX_BIGINT = 2**63 - 1


def nested(levels: int) -> Any:
    """A value that is `levels` arrays deep (0: a string)."""
    value: Any = "deepest"
    for _ in range(levels):
        value = [value]
    return value


def scim_error_detail(response, scim_type: str, case: object = None) -> str:
    assert response.status_code == 400, (case, response.text)
    assert response.json["schemas"] == [ERROR], case
    assert response.json["scimType"] == scim_type, case
    return response.json["detail"]


def admin_error_detail(response, case: object = None) -> str:
    assert response.status_code == 400, (case, response.text)
    return response.json["detail"]


class TestDepth:
    def test_a_user_is_read_up_to_the_limit_however_many_brackets_its_strings_hold(
        self, scim: ScimClient
    ):
        # Given users whose strings are full of brackets and escaped quotes (which do not
        # nest), and whose one extension attribute nests to the limit, or one level past it
        brackets = '[{"\\' * 30 + '"]}' * 30

        def user(email: str, levels: int) -> dict:
            return okta_user(email, displayName=brackets, nickName='\\"[[[' * 20, x=nested(levels))

        # When each is created
        within = scim.post("/Users", user("ada@example.com", MAX_JSON_DEPTH - 1))
        past = scim.post("/Users", user("grace@example.com", MAX_JSON_DEPTH))

        # Then the first is, and the second is refused with the limit
        assert within.status_code == 201, within.text
        assert within.json["displayName"] == brackets
        assert TOO_DEEP in scim_error_detail(past, "invalidSyntax")

    def test_every_scim_body_is_refused_past_the_limit(self, scim: ScimClient):
        created = scim.post("/Users", okta_user("ada@example.com"))
        assert created.status_code == 201, created.text
        user = f"/Users/{created.json['id']}"
        bulk_data = okta_user("grace@example.com", x=nested(300))
        cases: list[tuple[str, str, Any]] = [
            ("PUT", user, okta_user("ada@example.com", x=nested(MAX_JSON_DEPTH))),
            ("PATCH", user, patch_op({"op": "add", "value": {"x": nested(40)}})),
            ("POST", "/Groups", {**okta_group("Eng"), "members": nested(MAX_JSON_DEPTH)}),
            ("POST", "/Users/.search", {"schemas": [SEARCH_REQUEST], "filter": nested(40)}),
            ("POST", "/.search", {"schemas": [SEARCH_REQUEST], "attributes": nested(40)}),
            # Once serialised again for its operation, this data nested too deep for orjson.
            (
                "POST",
                "/Bulk",
                {
                    "schemas": [BULK_REQUEST],
                    "Operations": [
                        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": bulk_data}
                    ],
                },
            ),
            # Refused before any parser recurses: orjson alone stops at 1024 levels.
            ("POST", "/Users", b"[" * 100_000 + b"]" * 100_000),
            ("POST", "/Users", b"[" * 100_000),
            ("POST", "/Users", b'{"a":' * 100_000),
        ]

        for method, path, body in cases:
            response = scim.request(method, path, body)

            case = (method, path, body[:12] if isinstance(body, bytes) else None)
            assert TOO_DEEP in scim_error_detail(response, "invalidSyntax", case), case
        assert scim.get("/Users").json["totalResults"] == 1

    def test_the_admin_api_applies_the_same_limit(self, admin: AdminClient):
        created = admin.post("/orgs", {"slug": "acme", "name": "Acme", "x": nested(40)})
        settings = admin.patch("/orgs/acme/settings", {"seat_limit": nested(40)})

        for response in (created, settings):
            assert TOO_DEEP in admin_error_detail(response)
        assert admin.get("/orgs/acme").status_code == 404


@pytest.mark.parametrize(
    "text, deeper",
    [
        # Brackets in strings do not count, whatever the escapes before the closing quote.
        ('["' + "[" * 40 + '"]', False),
        ('["\\\\"' + ", []" * 40 + "]", False),
        ('["\\"' + "[" * 40 + '"]', False),
        ('["\\\\\\"' + "[" * 40 + '"]', False),
        ('[" \\" ", ' + "[" * 33 + "]" * 33 + "]", True),
        # Objects and arrays nest alike; siblings do not add up.
        ('{"a": ' * 32 + "1" + "}" * 32, False),
        ('{"a": ' * 33 + "1" + "}" * 33, True),
        ("[" + "[], " * 100 + "[]]", False),
        ("[" + "[[], " * 33 + "1" + "]" * 33 + "]", True),
    ],
)
def test_depth_is_read_from_the_brackets_outside_strings(text: str, deeper: bool):
    raw = text.encode()
    if not deeper:
        # A text reported within the limit is one the parser reads.
        json.loads(raw)
    assert nests_deeper_than(raw) is deeper


def test_scim_start_index_past_the_largest_offset_is_refused_with_the_range(
    scim: ScimClient,
):
    refused = [
        scim.get("/Users", params={"startIndex": "99999999999999999999999"}),
        scim.get("/Users", params={"startIndex": str(MAX_START_INDEX + 1)}),
        *(
            scim.post(path, {"schemas": [SEARCH_REQUEST], "startIndex": 10**19})
            for path in ("/Users/.search", "/Groups/.search", "/.search")
        ),
    ]
    largest = scim.get("/Users", params={"startIndex": str(MAX_START_INDEX), "count": "5"})

    for response in refused:
        detail = scim_error_detail(response, "invalidValue")
        assert detail == f"startIndex must be a whole number from 1 to {MAX_START_INDEX}"
    assert largest.status_code == 200, largest.text
    assert largest.json["startIndex"] == MAX_START_INDEX
    assert largest.json["Resources"] == []


class TestAdminIntegers:
    def test_durations_and_seat_limits_are_refused_outside_their_range(
        self, admin: AdminClient, tenant: OrganizationFixture
    ):
        org = f"/orgs/{tenant.slug}"
        cases: list[tuple[str, str, str, int, str]] = [
            ("POST", "scim/rotate", "grace_seconds", 10**15, "from 0 to 2592000"),
            ("POST", "scim/rotate", "grace_seconds", 31 * 86400, "from 0 to 2592000"),
            ("POST", "scim/rotate", "expires_in_seconds", 10**15, "from 0 to 315360000"),
            # Within what a timedelta holds, but not a date a token could expire on.
            ("POST", "scim/enable", "expires_in_seconds", 10**12, "from 0 to 315360000"),
            ("PATCH", "settings", "seat_limit", 2**63, "from 0 to 1000000000"),
            ("PATCH", "settings", "seat_limit", 10**9 + 1, "from 0 to 1000000000"),
            ("PATCH", "settings", "seat_limit", -1, "from 0 to 1000000000"),
        ]

        for method, path, field, value, allowed in cases:
            response = admin.request(method, f"{org}/{path}", {field: value})

            case = (path, field, value)
            assert admin_error_detail(response, case) == (
                f"{field} must be a whole number {allowed}"
            )
        assert admin.get(f"{org}/settings").json["seat_limit"] is None
        assert len(admin.get(f"{org}/scim").json["tokens"]) == 1

    def test_feed_parameters_are_refused_outside_their_range(
        self, admin: AdminClient, tenant: OrganizationFixture
    ):
        org = f"/orgs/{tenant.slug}"
        cases = [
            # Event sequence numbers are 32-bit, audit record ids 64-bit.
            ("events", "after", "99999999999999999999999", f"from 0 to {MAX_INTEGER}"),
            ("events", "after", str(MAX_INTEGER + 1), f"from 0 to {MAX_INTEGER}"),
            ("audit", "after", str(MAX_BIGINT + 1), f"from 0 to {MAX_BIGINT}"),
            # A digit to str.isdigit(), but not to int().
            ("events", "after", "\N{SUPERSCRIPT TWO}", f"from 0 to {MAX_INTEGER}"),
            ("events", "limit", "1001", "from 1 to 1000"),
            ("audit", "limit", "99999999999999999999999", "from 1 to 1000"),
        ]

        for feed, name, value, allowed in cases:
            response = admin.get(f"{org}/{feed}", params={name: value})

            assert admin_error_detail(response, (feed, name, value)) == (
                f"{name} must be a whole number {allowed}"
            )
        last_event = admin.get(f"{org}/events", params={"after": str(MAX_INTEGER)})
        last_record = admin.get(f"{org}/audit", params={"after": str(MAX_BIGINT)})
        assert last_event.json == {"events": [], "next_after": MAX_INTEGER}
        assert last_record.json == {"records": [], "next_after": MAX_BIGINT}
        # Leading zeros are no digits of the number, however many: past Python's 4,300
        # digits, int() of the text itself would raise.
        padded = admin.get(f"{org}/events", params={"after": "0" * 5_000 + "7"})
        assert padded.status_code == 200, padded.text
        assert padded.json["next_after"] == 7
