"""Filters are bounded by terms and nesting, and a statement the database refuses for its
size is the client's 400, never a 503 that would have the IdP retry it for ever."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy import exc as database_errors

from api.errors import refused_as_too_large
from api.scim.filter_limits import MAX_FILTER_DEPTH, MAX_FILTER_TERMS
from tests.support.scim import ScimClient, okta_group, okta_user, patch_op

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def user_names(count: int) -> str:
    return " or ".join(f'userName eq "user{n}@example.com"' for n in range(count))


def search(expression: str) -> dict:
    return {"schemas": [SEARCH], "filter": expression}


def assert_invalid_filter(response, limit_words: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json["scimType"] == "invalidFilter"
    assert limit_words in response.json["detail"]


class TestTerms:
    def test_a_thousand_terms_are_refused_by_get_and_by_every_search(self, scim: ScimClient):
        wide = user_names(1_000)

        assert_invalid_filter(scim.get("/Users", params={"filter": wide}), "at most 200")
        assert_invalid_filter(scim.post("/Users/.search", search(wide)), "at most 200")
        assert_invalid_filter(scim.post("/.search", search(wide)), "at most 200")

    def test_a_filter_at_the_limit_runs_and_finds_its_users(self, scim: ScimClient):
        for n in (0, 7, MAX_FILTER_TERMS - 1):
            assert scim.post("/Users", okta_user(f"user{n}@example.com")).status_code == 201

        found = scim.get("/Users", params={"filter": user_names(MAX_FILTER_TERMS)})

        assert found.status_code == 200, found.text
        assert sorted(user["userName"] for user in found.json["Resources"]) == [
            "user0@example.com", "user199@example.com", "user7@example.com",
        ]  # fmt: skip

    def test_one_term_over_the_limit_is_refused_naming_the_count(self, scim: ScimClient):
        response = scim.get("/Users", params={"filter": user_names(MAX_FILTER_TERMS + 1)})

        assert_invalid_filter(response, f"{MAX_FILTER_TERMS + 1} terms")

    def test_an_or_inside_a_quoted_value_is_data_not_a_term(self, scim: ScimClient):
        quoted = " or ".join(f'displayName eq "a or b or c {n}"' for n in range(150))

        assert scim.get("/Users", params={"filter": quoted}).status_code == 200

    def test_wide_value_paths_on_users_and_groups_are_refused(self, scim: ScimClient):
        emails = " or ".join(f'emails[value eq "u{n}@example.com"]' for n in range(500))
        members = " or ".join(f'members[value eq "id{n}"]' for n in range(1_000))

        assert_invalid_filter(scim.get("/Users", params={"filter": emails}), "at most 200")
        assert_invalid_filter(scim.get("/Groups", params={"filter": members}), "at most 200")

    def test_a_wide_member_filter_in_a_patch_path_is_refused(self, scim: ScimClient):
        ada = scim.post("/Users", okta_user("ada@example.com")).json
        group = scim.post("/Groups", okta_group("Engineering", ada["id"])).json
        path = "members[" + " or ".join(f'value eq "id{n}"' for n in range(1_000)) + "]"

        response = scim.patch(f"/Groups/{group['id']}", patch_op({"op": "remove", "path": path}))

        assert response.status_code == 400, response.text
        assert "at most 200" in response.json["detail"]
        assert len(response.json["detail"]) < 300
        still = scim.get(f"/Groups/{group['id']}").json
        assert [member["value"] for member in still["members"]] == [ada["id"]]


class TestNesting:
    def test_deep_parentheses_are_refused_before_the_parser_recurses(self, scim: ScimClient):
        deep = "(" * 2_000 + 'userName eq "a@example.com"' + ")" * 2_000

        assert_invalid_filter(scim.get("/Users", params={"filter": deep}), "at most 16")

    def test_nesting_at_the_limit_runs(self, scim: ScimClient):
        nested = "(" * MAX_FILTER_DEPTH + 'userName eq "a@example.com"' + ")" * MAX_FILTER_DEPTH

        assert scim.get("/Users", params={"filter": nested}).status_code == 200


class TestWhatTheDatabaseRefuses:
    def test_sqlite_refusing_an_expression_as_too_large_is_the_query_s_fault(self, tmp_path):
        engine = create_engine(f"sqlite:///{tmp_path / 'limits.db'}")
        huge = " OR ".join(["1 = 1"] * 20_000)
        with pytest.raises(database_errors.OperationalError) as refused, engine.connect() as c:
            c.execute(text(f"SELECT 1 WHERE {huge}"))
        engine.dispose()

        assert refused_as_too_large(refused.value)

    def test_a_locked_or_unreachable_database_stays_retryable(self):
        for message in ("database is locked", "unable to open database file"):
            error = database_errors.OperationalError(
                "SELECT 1", {}, sqlite3.OperationalError(message)
            )
            assert not refused_as_too_large(error), message

    def test_postgres_program_limit_class_is_the_query_s_fault(self):
        class StackDepthExceeded(Exception):
            sqlstate = "54001"

        class ConnectionFailure(Exception):
            sqlstate = "08006"

        too_large = database_errors.OperationalError("SELECT 1", {}, StackDepthExceeded())
        gone = database_errors.OperationalError("SELECT 1", {}, ConnectionFailure())

        assert refused_as_too_large(too_large)
        assert not refused_as_too_large(gone)
