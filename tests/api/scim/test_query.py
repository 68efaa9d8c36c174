"""Listing /Users: sorting, index and cursor pagination, projection, and POST .search."""

from __future__ import annotations

import time

import pytest

from api.scim.cursors import CursorCodec, cursor_scope
from models.roster.reconcile import reconcile_organization
from tests.support.scim import ScimClient, okta_user

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def add_users(scim: ScimClient, count: int) -> list[dict]:
    users = []
    for index in range(count):
        body = okta_user(f"user{index:02d}@example.com", f"G{index % 3}", f"F{index}")
        body["title"] = ["b", "A", "c"][index % 3] if index % 4 else None
        body = {key: value for key, value in body.items() if value is not None}
        response = scim.post("/Users", body)
        assert response.status_code == 201, response.text
        users.append(response.json)
    return users


def user_names(page: dict) -> list[str]:
    return [user["userName"] for user in page["Resources"]]


class TestSort:
    def test_sort_by_a_case_insensitive_attribute_puts_missing_values_last(self, scim):
        users = add_users(scim, 8)

        page = scim.get("/Users", params={"sortBy": "title"}).json

        titles = [user.get("title") for user in page["Resources"]]
        assert titles == sorted(
            (u.get("title") for u in users), key=lambda t: (t is None, (t or "").lower())
        )
        assert titles[-1] is None

    def test_descending_reverses_the_whole_order(self, scim):
        add_users(scim, 8)
        ascending = user_names(scim.get("/Users", params={"sortBy": "title"}).json)

        descending = scim.get("/Users", params={"sortBy": "title", "sortOrder": "descending"})

        assert user_names(descending.json) == list(reversed(ascending))

    def test_sort_by_a_multi_valued_attribute_uses_the_primary_value(self, scim):
        scim.post(
            "/Users",
            okta_user(
                "zed@example.com",
                emails=[{"value": "b@example.com"}, {"value": "y@example.com", "primary": True}],
            ),
        )
        scim.post("/Users", okta_user("amy@example.com", emails=[{"value": "m@example.com"}]))

        page = scim.get("/Users", params={"sortBy": "emails"}).json

        assert user_names(page) == ["amy@example.com", "zed@example.com"]

    def test_sort_by_creation_time_and_extension_attributes(self, scim):
        users = add_users(scim, 3)
        newest_first = scim.get(
            "/Users", params={"sortBy": "meta.created", "sortOrder": "descending"}
        ).json
        assert user_names(newest_first) == [u["userName"] for u in reversed(users)]
        by_employee = scim.get("/Users", params={"sortBy": f"{ENTERPRISE}:employeeNumber"})
        assert by_employee.status_code == 200

    @pytest.mark.parametrize("sort_by", ["name", "nosuch", "x509Certificates.value", "password"])
    def test_unsortable_attributes_are_a_400(self, scim, sort_by):
        response = scim.get("/Users", params={"sortBy": sort_by})
        assert response.status_code == 400
        assert response.json["scimType"] in ("invalidPath", "invalidFilter")


class TestIndexPagination:
    def test_pages_are_stable_and_items_per_page_counts_resources(self, scim):
        users = add_users(scim, 7)
        seen = []
        for start in (1, 4, 7, 10):
            page = scim.get("/Users", params={"startIndex": start, "count": 3}).json
            assert page["totalResults"] == 7
            assert page["itemsPerPage"] == len(page["Resources"])
            seen += user_names(page)
        assert seen == [user["userName"] for user in users]

    def test_count_is_capped_at_the_maximum_page_size(self, scim, settings):
        add_users(scim, 3)
        page = scim.get("/Users", params={"count": settings.max_page_size + 50}).json
        assert page["itemsPerPage"] == 3

    def test_count_zero_tells_only_the_total(self, scim):
        add_users(scim, 2)
        page = scim.get("/Users", params={"count": 0}).json
        assert (page["totalResults"], page["Resources"]) == (2, [])

    def walk_by_index(self, scim, params) -> tuple[list[str], list[dict]]:
        """Okta's import: startIndex=1, 1+count, ... until a short page or the total."""
        names, pages, start = [], [], 1
        for _ in range(50):
            page = scim.get("/Users", params={**params, "startIndex": start}).json
            pages.append(page)
            names += user_names(page)
            if page["itemsPerPage"] < params["count"] or len(names) >= page["totalResults"]:
                break
            start += params["count"]
        return names, pages

    def test_walks_by_start_index_see_every_user_once_with_the_total(self, scim):
        users = add_users(scim, 10)

        for _ in range(2):
            names, pages = self.walk_by_index(scim, {"count": 3})

            assert names == [user["userName"] for user in users]
            assert [page["startIndex"] for page in pages] == [1, 4, 7, 10]
            assert [page["itemsPerPage"] for page in pages] == [3, 3, 3, 1]
            assert {page["totalResults"] for page in pages} == {10}

    def test_a_start_index_past_the_end_is_an_empty_page_with_the_total(self, scim):
        add_users(scim, 4)
        scim.get("/Users", params={"startIndex": 1, "count": 2})
        scim.get("/Users", params={"startIndex": 3, "count": 2})

        page = scim.get("/Users", params={"startIndex": 5, "count": 2}).json
        beyond = scim.get("/Users", params={"startIndex": 40, "count": 2}).json

        assert (page["totalResults"], page["itemsPerPage"], page["Resources"]) == (4, 0, [])
        assert (beyond["totalResults"], beyond["startIndex"], beyond["Resources"]) == (4, 40, [])

    def test_a_user_deleted_between_pages_moves_the_next_page_up(self, scim):
        users = add_users(scim, 9)
        first = scim.get("/Users", params={"startIndex": 1, "count": 3}).json
        assert scim.delete(f"/Users/{users[1]['id']}").status_code == 204

        second = scim.get("/Users", params={"startIndex": 4, "count": 3}).json

        # startIndex counts in the order as it is now: the 4th user is the one that was 5th.
        assert user_names(first) == [u["userName"] for u in users[:3]]
        assert user_names(second) == [u["userName"] for u in users[4:7]]
        assert second["totalResults"] == 8

    def test_a_user_sorted_ahead_of_the_next_page_moves_it_down(self, scim):
        users = add_users(scim, 8)
        by_name = sorted(u["userName"] for u in users)
        first = scim.get("/Users", params={"startIndex": 1, "count": 3, "sortBy": "userName"})
        scim.post("/Users", okta_user("aaron@example.com"))

        second = scim.get("/Users", params={"startIndex": 4, "count": 3, "sortBy": "userName"})

        assert user_names(first.json) == by_name[:3]
        assert user_names(second.json) == by_name[2:5]
        assert second.json["totalResults"] == 9

    @pytest.mark.parametrize("applied", [True, False], ids=["applied", "not-applied-yet"])
    def test_users_coming_and_going_between_pages_show_on_the_next_one(
        self, scim, database, tenant, applied
    ):
        users = add_users(scim, 9)
        reconcile_organization(database, tenant.id)
        pages = [scim.get("/Users", params={"startIndex": 1, "count": 3}).json]
        pages.append(scim.get("/Users", params={"startIndex": 4, "count": 3}).json)
        assert scim.delete(f"/Users/{users[0]['id']}").status_code == 204
        scim.post("/Users", okta_user("late@example.com"))
        if applied:
            reconcile_organization(database, tenant.id)

        third = scim.get("/Users", params={"startIndex": 7, "count": 3}).json
        fourth = scim.get("/Users", params={"startIndex": 10, "count": 3}).json

        assert [page["totalResults"] for page in (*pages, third, fourth)] == [9, 9, 9, 9]
        assert user_names(pages[0]) + user_names(pages[1]) == [u["userName"] for u in users[:6]]
        # The 7th user now is the one that was 8th; the one created last ends the list.
        assert user_names(third) == [u["userName"] for u in users[7:9]] + ["late@example.com"]
        assert user_names(fourth) == []

    def test_an_unchanged_directory_walks_the_same_twice(self, scim, database, tenant):
        users = add_users(scim, 8)
        reconcile_organization(database, tenant.id)

        first, _ = self.walk_by_index(scim, {"count": 3})
        second, pages = self.walk_by_index(scim, {"count": 3})

        assert first == second == [u["userName"] for u in users]
        assert {page["totalResults"] for page in pages} == {8}

    def test_sorted_and_filtered_walks_by_start_index(self, scim):
        users = add_users(scim, 9)
        params = {
            "count": 2,
            "sortBy": "title",
            "sortOrder": "descending",
            "filter": 'userName sw "user0"',
        }

        names, pages = self.walk_by_index(scim, params)

        whole = scim.get("/Users", params={**params, "count": 100}).json
        assert names == user_names(whole) and len(names) == len(users)
        assert {page["totalResults"] for page in pages} == {len(users)}

    @pytest.mark.parametrize("params", [{"count": "many"}, {"startIndex": "x"}])
    def test_non_numbers_are_invalid_value(self, scim, params):
        response = scim.get("/Users", params=params)
        assert response.status_code == 400
        assert response.json["scimType"] == "invalidValue"


class TestCursorPagination:
    def walk(self, scim, params) -> tuple[list[str], list[dict]]:
        names, pages = [], []
        page = scim.get("/Users", params={**params, "cursor": ""}).json
        for _ in range(50):
            pages.append(page)
            names += user_names(page)
            if "nextCursor" not in page:
                break
            page = scim.get("/Users", params={**params, "cursor": page["nextCursor"]}).json
        return names, pages

    def test_walking_next_cursors_visits_every_user_once_in_order(self, scim):
        users = add_users(scim, 7)

        names, pages = self.walk(scim, {"count": 3})

        assert names == [user["userName"] for user in users]
        assert [page["itemsPerPage"] for page in pages] == [3, 3, 1]
        assert all(len(page["nextCursor"]) > 10 for page in pages[:-1])
        assert "previousCursor" not in pages[0] and "previousCursor" in pages[1]

    def test_previous_cursor_returns_the_page_before(self, scim):
        add_users(scim, 7)
        _, pages = self.walk(scim, {"count": 3, "sortBy": "title"})

        back = scim.get(
            "/Users",
            params={"count": 3, "sortBy": "title", "cursor": pages[2]["previousCursor"]},
        ).json

        assert user_names(back) == user_names(pages[1])

    def test_users_created_during_a_walk_do_not_repeat_or_hide_others(self, scim):
        users = add_users(scim, 6)
        first = scim.get("/Users", params={"count": 3, "cursor": ""}).json
        scim.post("/Users", okta_user("late@example.com"))

        second = scim.get("/Users", params={"count": 10, "cursor": first["nextCursor"]}).json

        assert user_names(first) + user_names(second) == [
            *[u["userName"] for u in users],
            "late@example.com",
        ]

    def test_sorted_and_filtered_walks(self, scim):
        users = add_users(scim, 9)
        names, _ = self.walk(
            scim,
            {
                "count": 2,
                "sortBy": "title",
                "sortOrder": "descending",
                "filter": 'userName sw "user0"',
            },
        )
        expected = sorted(
            users,
            key=lambda u: (
                u.get("title") is None,
                (u.get("title") or "").lower(),
                u["meta"]["created"],
                u["id"],
            ),
            reverse=True,
        )
        assert names == [u["userName"] for u in expected]

    @pytest.mark.parametrize("cursor", ["nonsense", "abc.def", "a" * 40])
    def test_a_made_up_cursor_is_invalid_cursor(self, scim, cursor):
        response = scim.get("/Users", params={"cursor": cursor})
        assert response.status_code == 400
        assert response.json["scimType"] == "invalidCursor"

    def test_a_tampered_or_replayed_cursor_is_invalid_cursor(self, scim):
        add_users(scim, 4)
        cursor = scim.get("/Users", params={"count": 2, "cursor": ""}).json["nextCursor"]
        payload, signature = cursor.split(".")
        tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature

        assert scim.get("/Users", params={"cursor": tampered}).json["scimType"] == "invalidCursor"
        other_query = scim.get("/Users", params={"cursor": cursor, "sortBy": "title"})
        assert other_query.json["scimType"] == "invalidCursor"

    def test_an_old_cursor_is_expired_cursor(self, scim, settings, tenant):
        add_users(scim, 4)
        fresh = scim.get("/Users", params={"count": 2, "cursor": ""}).json["nextCursor"]
        scope = cursor_scope(tenant.id, "User", "", "default:0")
        position = CursorCodec(settings.secret_key, 10**9).decode(scope, fresh)
        issued_long_ago = time.time() - settings.cursor_timeout_seconds - 5
        stale = CursorCodec(
            settings.secret_key, settings.cursor_timeout_seconds, clock=lambda: issued_long_ago
        ).encode(scope, position)

        response = scim.get("/Users", params={"count": 2, "cursor": stale})

        assert response.status_code == 400
        assert response.json["scimType"] == "expiredCursor"

    def test_cursor_and_start_index_together_are_refused(self, scim):
        response = scim.get("/Users", params={"cursor": "", "startIndex": 2})
        assert response.status_code == 400


class TestProjection:
    def test_attributes_keep_always_returned_ones_and_sub_attributes(self, scim):
        add_users(scim, 1)
        page = scim.get(
            "/Users",
            params={
                "attributes": "NAME.givenName,"
                "urn:ietf:params:scim:schemas:core:2.0:User:emails.value"
            },
        ).json
        (user,) = page["Resources"]
        assert set(user) == {"id", "schemas", "meta", "name", "emails"}
        assert user["name"] == {"givenName": "G0"}
        assert user["emails"] == [{"value": "user00@example.com"}]

    def test_excluded_attributes_drop_them_but_never_id(self, scim):
        (created,) = add_users(scim, 1)
        user = scim.get(
            f"/Users/{created['id']}", params={"excludedAttributes": "emails,name.familyName,id"}
        ).json
        assert "emails" not in user and user["id"] == created["id"]
        assert user["name"] == {"givenName": "G0"}

    def test_extension_attributes_by_urn(self, scim):
        body = okta_user(
            "ada@example.com", **{ENTERPRISE: {"employeeNumber": "7", "department": "R"}}
        )
        body["schemas"] = [*body["schemas"], ENTERPRISE]
        created = scim.post("/Users", body, params={"attributes": f"{ENTERPRISE}:employeeNumber"})
        assert created.status_code == 201
        assert created.json[ENTERPRISE] == {"employeeNumber": "7"}
        assert "userName" not in created.json
        whole = scim.get(f"/Users/{created.json['id']}", params={"attributes": ENTERPRISE}).json
        assert whole[ENTERPRISE] == {"employeeNumber": "7", "department": "R"}

    def test_put_response_is_projected_too(self, scim):
        (created,) = add_users(scim, 1)
        body = okta_user("user00@example.com", "New", "Name")
        response = scim.put(f"/Users/{created['id']}", body, params={"attributes": "name"})
        assert response.status_code == 200
        assert set(response.json) == {"id", "schemas", "meta", "name"}

    def test_patch_response_is_projected_too(self, scim):
        (created,) = add_users(scim, 1)
        operation = {"op": "replace", "path": "displayName", "value": "Renamed"}
        response = scim.patch(
            f"/Users/{created['id']}",
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [operation],
            },
            params={"excludedAttributes": "emails,name"},
        )
        assert response.status_code == 200
        assert response.json["displayName"] == "Renamed"
        assert "emails" not in response.json and "name" not in response.json


class TestSearch:
    def test_post_search_on_users_and_at_the_root(self, scim):
        add_users(scim, 5)
        body = {
            "schemas": [SEARCH],
            "filter": 'userName sw "user0"',
            "sortBy": "userName",
            "sortOrder": "descending",
            "attributes": ["userName"],
            "startIndex": 2,
            "count": 2,
        }
        for path in ("/Users/.search", "/.search"):
            page = scim.post(path, body).json
            assert page["totalResults"] == 5
            assert user_names(page) == ["user03@example.com", "user02@example.com"]
            assert set(page["Resources"][0]) == {"id", "schemas", "meta", "userName"}

    def test_a_search_with_a_bad_filter_or_body(self, scim):
        bad_filter = scim.post("/Users/.search", {"schemas": [SEARCH], "filter": "nope"})
        assert bad_filter.json["scimType"] == "invalidFilter"
        assert scim.post("/.search", {"schemas": ["urn:x"]}).status_code == 400
        assert scim.post("/Users/.search", [1]).status_code == 400


def test_service_provider_config_advertises_sort_and_pagination(scim, settings):
    config = scim.get("/ServiceProviderConfig").json
    assert config["sort"] == {"supported": True}
    assert config["filter"] == {"supported": True, "maxResults": settings.max_page_size}
    assert config["pagination"] == {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 100,
        "maxPageSize": settings.max_page_size,
        "cursorTimeout": settings.cursor_timeout_seconds,
    }
