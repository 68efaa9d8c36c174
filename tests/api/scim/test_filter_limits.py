"""Filters are bounded by terms and nesting wherever a client can send one: GET, `.search` on
each type and at the root, and value filters in PATCH paths. Past a bound the answer is 400
invalidFilter naming it, before any parser or SQL sees the filter, never a 503 that would
have the IdP retry it for ever. How the database's own refusals and failures are answered
is in tests/api/test_errors.py."""

from __future__ import annotations

import pytest

from api.scim.filter_limits import MAX_FILTER_DEPTH, MAX_FILTER_TERMS
from models.core.db import Database
from tests.support.scim import ScimClient, okta_group, okta_user, patch_op

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
AT_MOST = f"at most {MAX_FILTER_TERMS}"
NESTED_AT_MOST = f"at most {MAX_FILTER_DEPTH}"


def user_names(count: int) -> str:
    return " or ".join(f'userName eq "user{n}@example.com"' for n in range(count))


def email_selections(count: int) -> str:
    return " or ".join(f'emails[value eq "user{n}@example.com"]' for n in range(count))


def member_selections(ids: list[str], count: int) -> str:
    """`members[value eq "..."]` for each of `ids`, then for made-up ids up to `count` terms."""
    values = ids + [f"id{n}" for n in range(count - len(ids))]
    return " or ".join(f'members[value eq "{value}"]' for value in values)


def search(expression: str) -> dict:
    return {"schemas": [SEARCH], "filter": expression}


def assert_invalid_filter(response, limit_words: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json["scimType"] == "invalidFilter"
    assert limit_words in response.json["detail"]


class TestTerms:
    def test_wide_filters_are_refused_by_get_and_by_every_search(self, scim: ScimClient):
        # SQLite refused the first and the last as "Expression tree is too large": a 503.
        wide = {
            "/Users": [user_names(1_000), email_selections(500)],
            "/Groups": [member_selections([], 1_000)],
        }

        for endpoint, expressions in wide.items():
            for expression in expressions:
                assert_invalid_filter(scim.get(endpoint, params={"filter": expression}), AT_MOST)
                assert_invalid_filter(scim.post(f"{endpoint}/.search", search(expression)), AT_MOST)
                assert_invalid_filter(scim.post("/.search", search(expression)), AT_MOST)

    def test_a_filter_at_the_limit_runs_and_finds_its_users(self, scim: ScimClient):
        for n in (0, 7, MAX_FILTER_TERMS - 1):
            assert scim.post("/Users", okta_user(f"user{n}@example.com")).status_code == 201
        assert scim.post("/Users", okta_user("someone.else@example.com")).status_code == 201
        expected = ["user0@example.com", "user199@example.com", "user7@example.com"]

        by_get = scim.get("/Users", params={"filter": user_names(MAX_FILTER_TERMS)})
        by_search = scim.post("/Users/.search", search(user_names(MAX_FILTER_TERMS)))

        for found in (by_get, by_search):
            assert found.status_code == 200, found.text
            assert sorted(user["userName"] for user in found.json["Resources"]) == expected

    def test_a_member_filter_at_the_limit_finds_its_groups(self, scim: ScimClient):
        ada = scim.post("/Users", okta_user("ada@example.com")).json
        grace = scim.post("/Users", okta_user("grace@example.com")).json
        scim.post("/Groups", okta_group("Engineering", ada["id"]))
        scim.post("/Groups", okta_group("Research", grace["id"]))
        scim.post("/Groups", okta_group("Empty"))

        found = scim.get(
            "/Groups", params={"filter": member_selections([ada["id"]], MAX_FILTER_TERMS)}
        )

        assert found.status_code == 200, found.text
        assert [group["displayName"] for group in found.json["Resources"]] == ["Engineering"]

    def test_one_term_over_the_limit_is_refused_naming_the_count(self, scim: ScimClient):
        over = f"{MAX_FILTER_TERMS + 1} terms"

        assert_invalid_filter(
            scim.get("/Users", params={"filter": user_names(MAX_FILTER_TERMS + 1)}), over
        )
        assert_invalid_filter(
            scim.post("/Users/.search", search(email_selections(MAX_FILTER_TERMS + 1))), over
        )
        assert_invalid_filter(
            scim.get("/Groups", params={"filter": member_selections([], MAX_FILTER_TERMS + 1)}),
            over,
        )

    def test_an_or_inside_a_quoted_value_is_data_not_a_term(self, scim: ScimClient):
        quoted = " or ".join(f'displayName eq "a or b or c {n}"' for n in range(150))

        assert scim.get("/Users", params={"filter": quoted}).status_code == 200

    def test_the_filter_of_a_search_is_bounded_however_its_name_is_cased(self, scim: ScimClient):
        body = {"schemas": [SEARCH], "Filter": user_names(MAX_FILTER_TERMS + 1)}

        assert_invalid_filter(scim.post("/Users/.search", body), AT_MOST)

    def test_wide_filters_are_compiled_each_time_not_kept(
        self, scim: ScimClient, database: Database
    ):
        # SQLAlchemy keeps 500 compiled statements per engine whatever their size, and each
        # width of filter is a statement of its own: filters of every width up to the limit
        # kept some 300 statements of up to a megabyte each, in every web process.
        for width in (1, 2, 3):
            assert scim.post("/Users/.search", search(user_names(width))).status_code == 200
            assert scim.get("/Users", params={"filter": email_selections(width)}).status_code == 200
        narrow = cached_statements(database)
        for width in range(40, MAX_FILTER_TERMS + 1, 10):
            assert scim.post("/Users/.search", search(user_names(width))).status_code == 200
            assert scim.get("/Users", params={"filter": email_selections(width)}).status_code == 200
        assert cached_statements(database) == narrow


def cached_statements(database: Database) -> int:
    """Compiled SELECTs in the caches of the database's engines (a private attribute of
    SQLAlchemy's Engine: what this test is about). The audit trail's batched INSERTs, one
    statement per batch size, come and go with the audit writer's timing."""
    engines = {database.engine, database._read_engine}
    return sum(
        str(compiled).startswith("SELECT")
        for engine in engines
        for compiled in (engine._compiled_cache or {}).values()
    )


class TestNesting:
    def test_deep_parentheses_are_refused_before_the_parser_sees_them(self, scim: ScimClient):
        deep = "(" * 2_000 + 'userName eq "a@example.com"' + ")" * 2_000
        deeper = "(" * 100_000 + 'userName eq "a@example.com"' + ")" * 100_000

        assert_invalid_filter(scim.get("/Users", params={"filter": deep}), NESTED_AT_MOST)
        assert_invalid_filter(scim.post("/Users/.search", search(deeper)), NESTED_AT_MOST)

    def test_deep_negations_are_refused_by_the_same_rule(self, scim: ScimClient):
        # scim2-models refuses past 32 levels of its own; the server's bound comes first.
        for levels in (MAX_FILTER_DEPTH + 1, 2_000):
            negated = "not (" * levels + 'userName eq "a@example.com"' + ")" * levels

            assert_invalid_filter(scim.post("/.search", search(negated)), NESTED_AT_MOST)

    def test_nesting_at_the_limit_runs_and_means_what_it_says(self, scim: ScimClient):
        scim.post("/Users", okta_user("ada@example.com"))
        scim.post("/Users", okta_user("grace@example.com"))
        inner = 'userName eq "ada@example.com"'
        # An even number of negations is the filter itself; one more is its opposite.
        negations = MAX_FILTER_DEPTH - MAX_FILTER_DEPTH % 2
        cases = {
            "(" * MAX_FILTER_DEPTH + inner + ")" * MAX_FILTER_DEPTH: ["ada@example.com"],
            "not (" * negations + inner + ")" * negations: ["ada@example.com"],
            "not (" * (negations - 1) + inner + ")" * (negations - 1): ["grace@example.com"],
        }

        for expression, expected in cases.items():
            found = scim.get("/Users", params={"filter": expression})
            assert found.status_code == 200, (expression, found.text)
            assert [user["userName"] for user in found.json["Resources"]] == expected

    def test_one_level_over_the_limit_is_refused(self, scim: ScimClient):
        levels = MAX_FILTER_DEPTH + 1
        nested = "(" * levels + 'userName eq "a@example.com"' + ")" * levels

        assert_invalid_filter(scim.get("/Users", params={"filter": nested}), NESTED_AT_MOST)


class TestPatchPaths:
    @pytest.fixture
    def engineering(self, scim: ScimClient) -> tuple[dict, dict, dict]:
        """A group of two, Ada and Grace."""
        ada = scim.post("/Users", okta_user("ada@example.com")).json
        grace = scim.post("/Users", okta_user("grace@example.com")).json
        group = scim.post("/Groups", okta_group("Engineering", ada["id"], grace["id"])).json
        return group, ada, grace

    def members_of(self, scim: ScimClient, group: dict) -> list[str]:
        return sorted(
            member["value"] for member in scim.get(f"/Groups/{group['id']}").json["members"]
        )

    def test_a_wide_member_filter_in_a_patch_path_is_refused(self, scim: ScimClient, engineering):
        group, ada, grace = engineering
        path = "members[" + " or ".join(f'value eq "id{n}"' for n in range(1_000)) + "]"

        response = scim.patch(f"/Groups/{group['id']}", patch_op({"op": "remove", "path": path}))

        assert_invalid_filter(response, AT_MOST)
        assert len(response.json["detail"]) < 300
        assert self.members_of(scim, group) == sorted([ada["id"], grace["id"]])

    def test_a_member_filter_at_the_limit_removes_its_members(self, scim: ScimClient, engineering):
        group, ada, grace = engineering
        values = [ada["id"]] + [f"id{n}" for n in range(MAX_FILTER_TERMS - 1)]
        path = "members[" + " or ".join(f'value eq "{value}"' for value in values) + "]"

        response = scim.patch(f"/Groups/{group['id']}", patch_op({"op": "remove", "path": path}))

        assert response.status_code in (200, 204), response.text
        assert self.members_of(scim, group) == [grace["id"]]

    def test_a_wide_value_filter_in_a_user_patch_is_refused(self, scim: ScimClient):
        # scim2-models validated each of these terms anew: 5,000 of them held a worker 25 s.
        ada = scim.post("/Users", okta_user("ada@example.com")).json
        values = " or ".join(f'value eq "user{n}@example.com"' for n in range(2_000))
        path = f"emails[{values}].type"

        with_path = scim.patch(
            f"/Users/{ada['id']}", patch_op({"op": "replace", "path": path, "value": "home"})
        )
        as_a_key = scim.patch(
            f"/Users/{ada['id']}", patch_op({"op": "replace", "value": {path: "home"}})
        )

        assert_invalid_filter(with_path, AT_MOST)
        assert_invalid_filter(as_a_key, AT_MOST)
        assert scim.get(f"/Users/{ada['id']}").json["emails"][0]["type"] == "work"
