"""Fuzzing through the HTTP layer: no body or PATCH operation gets a 5xx, and a refused PATCH
leaves the stored resource exactly as it was."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.scim import ScimClient, okta_group, okta_user, patch_op

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCIMGATE = "urn:ietf:params:scim:schemas:extension:scimgate:2.0:User"

USER_PATHS = [
    "userName",
    "displayName",
    "active",
    "title",
    "nickName",
    "name",
    "name.givenName",
    "name.familyName",
    "emails",
    'emails[type eq "work"]',
    'emails[type eq "work"].value',
    'emails[value co "@"].primary',
    "phoneNumbers",
    'phoneNumbers[type eq "mobile"].value',
    "addresses",
    "addresses.locality",
    "id",
    "meta",
    "meta.created",
    "groups",
    "externalId",
    "locale",
    "x509Certificates",
    f"{ENTERPRISE}:manager",
    f"{ENTERPRISE}:manager.value",
    f"{ENTERPRISE}:department",
    ENTERPRISE,
    f"{SCIMGATE}:role",
    f"{SCIMGATE}:team",
    "urn:ietf:params:scim:schemas:extension:acme:2.0:User:x",
    "emails[",
    "name..x",
    "",
    "members",
    "Active",
    'EMAILS[TYPE EQ "WORK"].VALUE',
    'emails[type eq "work" or x]',
]
GROUP_PATHS = [
    "displayName",
    "externalId",
    "members",
    'members[value eq "x"]',
    "members[value eq",
    'members[value eq "a" or value eq "b"]',
    'members[display eq "x"]',
    "id",
    "meta.created",
    "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
    "nickName",
    "",
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group:x",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["True", "False", "ada@example.com", "u9", "member", "owner", "bulkId:x"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=12), st.sampled_from(["value", "type", "primary", "id"])),
            children,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


def operations(paths: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    op = st.sampled_from(["add", "remove", "replace", "Add", "Replace", "Remove", "move", 7])
    return st.fixed_dictionaries(
        {"op": op},
        optional={
            "path": st.one_of(st.sampled_from(paths), st.text(max_size=15)),
            "value": json_values,
        },
    )


names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=20)
ops = st.sampled_from(["add", "replace", "Add", "Replace"])

# Operations a real IdP could send, so that many PATCHes succeed and are checked too.
plausible_user_operations = st.one_of(
    st.fixed_dictionaries(
        {
            "op": ops,
            "path": st.sampled_from(["displayName", "title", "nickName", "name.givenName"]),
            "value": names,
        }
    ),
    st.fixed_dictionaries(
        {"op": ops, "path": st.just("active"), "value": st.sampled_from([True, False, "False"])}
    ),
    st.fixed_dictionaries(
        {
            "op": ops,
            "path": st.sampled_from([f"{SCIMGATE}:role", f"{SCIMGATE}:team"]),
            "value": st.sampled_from(["member", "editor", "owner", "Research"]),
        }
    ),
    st.fixed_dictionaries(
        {"op": ops, "path": st.just(f"{ENTERPRISE}:manager"), "value": st.just("u9")}
    ),
    st.fixed_dictionaries(
        {
            "op": ops,
            "value": st.fixed_dictionaries({"displayName": names, "name.familyName": names}),
        }
    ),
    st.fixed_dictionaries(
        {"op": st.sampled_from(["remove", "Remove"]), "path": st.sampled_from(USER_PATHS[:12])}
    ),
)
plausible_group_operations = st.one_of(
    st.fixed_dictionaries({"op": ops, "path": st.just("displayName"), "value": names}),
    st.fixed_dictionaries(
        {"op": ops, "path": st.just("members"), "value": st.just([{"value": "x"}])}
    ),
    st.fixed_dictionaries(
        {"op": st.just("remove"), "path": st.sampled_from(["members", 'members[value eq "x"]'])}
    ),
    st.fixed_dictionaries({"op": ops, "value": st.fixed_dictionaries({"displayName": names})}),
)


def patch_bodies(paths: list[str], plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    operation = st.one_of(plausible, plausible, operations(paths))
    return st.one_of(
        st.builds(lambda ops: patch_op(*ops), st.lists(operation, min_size=1, max_size=4)),
        json_values,
    )


def user_bodies() -> st.SearchStrategy[Any]:
    base = okta_user("fuzz@example.com")
    return st.one_of(
        json_values,
        st.dictionaries(st.sampled_from([*sorted(base), ENTERPRISE, SCIMGATE]), json_values).map(
            lambda extra: {**base, **extra}
        ),
    )


def group_bodies() -> st.SearchStrategy[Any]:
    return st.one_of(
        json_values,
        st.dictionaries(
            st.sampled_from(["displayName", "members", "externalId", "schemas", "id", "meta"]),
            json_values,
        ).map(lambda extra: {**okta_group("Fuzz"), **extra}),
    )


FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_no_server_error(response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json["status"] == str(response.status_code)


# Hypothesis runs many examples per test; SQLite keeps that quick, and the same code paths
# run on PostgreSQL in the rest of the suite.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
class TestFuzz:
    @FUZZ
    @given(body=user_bodies())
    def test_user_bodies(self, scim: ScimClient, body: Any):
        response = scim.post("/Users", body)
        assert_no_server_error(response)
        if response.status_code == 201:
            assert_no_server_error(scim.put(f"/Users/{response.json['id']}", body))
            scim.delete(f"/Users/{response.json['id']}")

    @FUZZ
    @given(body=group_bodies())
    def test_group_bodies(self, scim: ScimClient, body: Any):
        response = scim.post("/Groups", body)
        assert_no_server_error(response)
        if response.status_code == 201:
            assert_no_server_error(scim.put(f"/Groups/{response.json['id']}", body))
            scim.delete(f"/Groups/{response.json['id']}")

    @FUZZ
    @given(body=patch_bodies(USER_PATHS, plausible_user_operations))
    def test_user_patches(self, scim: ScimClient, fuzz_user: dict, body: Any):
        before = scim.get(f"/Users/{fuzz_user['id']}").json
        response = scim.patch(f"/Users/{fuzz_user['id']}", body)
        assert_no_server_error(response)
        after = scim.get(f"/Users/{fuzz_user['id']}").json
        if response.status_code >= 400:
            assert after == before
        else:
            assert response.json == after
            # Put the user back for the next example.
            restored = {k: v for k, v in before.items() if k not in ("id", "meta", "groups")}
            assert scim.put(f"/Users/{fuzz_user['id']}", restored).status_code == 200

    @FUZZ
    @given(body=patch_bodies(GROUP_PATHS, plausible_group_operations))
    def test_group_patches(self, scim: ScimClient, fuzz_group: dict, body: Any):
        body = json.loads(json.dumps(body).replace('"x"', f'"{fuzz_group["members"][0]["value"]}"'))
        before = scim.get(f"/Groups/{fuzz_group['id']}").json
        response = scim.patch(f"/Groups/{fuzz_group['id']}", body)
        assert_no_server_error(response)
        after = scim.get(f"/Groups/{fuzz_group['id']}").json
        if response.status_code >= 400:
            assert after == before
        else:
            restored = {k: v for k, v in before.items() if k not in ("id", "meta")}
            assert scim.put(f"/Groups/{fuzz_group['id']}", restored).status_code == 200

    @FUZZ
    @given(body=json_values, path=st.sampled_from(["/Bulk", "/Users/.search", "/Groups"]))
    def test_other_bodies(self, scim: ScimClient, body: Any, path: str):
        assert_no_server_error(scim.post(path, body))


@pytest.fixture
def fuzz_user(scim: ScimClient) -> dict:
    body = okta_user("ada@example.com")
    body["emails"].append({"value": "ada@home.example.com", "type": "home"})
    response = scim.post("/Users", body)
    assert response.status_code == 201
    return response.json


@pytest.fixture
def fuzz_group(scim: ScimClient, fuzz_user: dict) -> dict:
    response = scim.post("/Groups", okta_group("Fuzzers", fuzz_user["id"]))
    assert response.status_code == 201
    return response.json
