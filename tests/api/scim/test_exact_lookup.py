"""The exact lookup (`GET /Users?filter=userName eq "..."`) answers as the general listing does.

IdPs send this lookup before every write, so a prepared statement answers it (see
`ExactLookups` in api/scim/listing.py). These tests hold it to the general path: for any
list request, GET (which may take the shortcut) must answer exactly what POST /Users/.search
with the same parameters answers (which never does), errors included.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import strategies as st

from api.scim.listing import ExactLookups, list_parameters
from api.scim.sql.users import USER_MAPPING
from models.core.config import Settings
from tests.support.scim import OrganizationFixture, ScimClient, okta_user

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
MAX_PAGE_SIZE = 1000


class TestRecognition:
    """Which requests take the prepared statement; the rest take the general path."""

    @pytest.fixture
    def lookups(self) -> ExactLookups:
        return ExactLookups(USER_MAPPING, MAX_PAGE_SIZE)

    def test_okta_and_entra_lookups_are_recognised(self, lookups):
        okta = lookups.recognise(
            {"filter": 'userName eq "Ada@Example.com"', "startIndex": "1", "count": "100"}
        )
        assert okta is not None
        assert (okta.value, okta.count, okta.match.folded) == ("ada@example.com", 100, True)

        entra = lookups.recognise({"filter": 'externalId eq "0d3F-Ab"'})
        assert entra is not None
        # externalId is caseExact: compared as given.
        assert (entra.value, entra.count, entra.match.folded) == ("0d3F-Ab", 100, False)

    def test_count_is_capped_like_any_page(self, lookups):
        lookup = lookups.recognise({"filter": 'userName eq "a"', "count": "5000"})
        assert lookup is not None and lookup.count == MAX_PAGE_SIZE

    @pytest.mark.parametrize(
        "parameters",
        [
            {"filter": 'userName eq "éva@example.com"'},
            {"filter": 'userName eq "a\\"b"'},
            {"filter": 'userName  eq "a"'},
            {"filter": ' userName eq "a"'},
            {"filter": 'userName ne "a"'},
            {"filter": 'userName eq "a" and active eq true'},
            {"filter": f'{CORE}:userName eq "a"'},
            {"filter": 'displayName eq "a"'},
            {"filter": 'emails.value eq "a"'},
            {"filter": 'title eq "a"'},
            {"filter": 'userName eq "a"', "startIndex": "2"},
            {"filter": 'userName eq "a"', "count": "0"},
            {"filter": 'userName eq "a"', "count": "010"},
            {"filter": 'userName eq "a"', "sortBy": "userName"},
            {"filter": 'userName eq "a"', "attributes": "userName"},
            {"filter": 'userName eq "a"', "cursor": ""},
            {"startIndex": "1"},
        ],
    )
    def test_anything_else_takes_the_general_path(self, lookups, parameters):
        assert lookups.recognise(parameters) is None


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The property below sends hundreds of requests a second: no rate limit in its way."""
    return replace(settings, rate_limit_per_second=1e6, rate_limit_burst=1_000_000)


@pytest.fixture
def directory(scim: ScimClient, app, database) -> dict[str, Any]:
    """Users whose names and externalIds make lookups tricky, and another tenant."""
    users = {
        "ada": okta_user("Ada.Lovelace@example.com", externalId="00uADA"),
        "grace": okta_user("grace@example.com", externalId="shared"),
        "linus": okta_user("linus@example.com", externalId="shared"),
        "eva": okta_user("éva@example.com", externalId="Éva"),
        "obrien": okta_user("o'brien+tag%_x@example.com", externalId="O'Brien"),
        "gone": okta_user("alan@example.com", externalId="gone"),
    }
    ids = {}
    for key, body in users.items():
        response = scim.post("/Users", body)
        assert response.status_code == 201, response.text
        ids[key] = response.json["id"]
    assert scim.delete(f"/Users/{ids['gone']}").status_code == 204
    other = OrganizationFixture.create(database, "other", ["example.com"])
    elsewhere = ScimClient(app, other.slug, other.token)
    assert (
        elsewhere.post("/Users", okta_user("grace@example.com", externalId="shared")).status_code
        == 201
    )
    return ids


VALUES = [
    "Ada.Lovelace@example.com",
    "ada.lovelace@EXAMPLE.com",
    "grace@example.com",
    "GRACE@example.com",
    "linus@example.com",
    "alan@example.com",
    "éva@example.com",
    "ÉVA@example.com",
    "o'brien+tag%_x@example.com",
    "O'BRIEN+TAG%_X@example.com",
    "00uADA",
    "00uada",
    "shared",
    "SHARED",
    "Éva",
    "O'Brien",
    "gone",
    "",
    "nobody@example.com",
    "@id:ada",
    "@id:grace",
    "@id:gone",
]
ATTRIBUTES = [
    "userName",
    "username",
    "USERNAME",
    "externalId",
    "EXTERNALID",
    "id",
    "displayName",
    "emails.value",
    f"{CORE}:userName",
    "userNam",
    "password",
    "meta.resourceType",
]
TEXT = st.text(alphabet="aA@.é'%_\\\" K\x00", max_size=6)


@st.composite
def idp_lookups(draw: st.DrawFn) -> dict[str, str]:
    """Lookups as IdPs write them: mostly what the prepared statement answers."""
    attribute = draw(st.sampled_from(["userName", "username", "externalId", "id"]))
    parameters = {"filter": f'{attribute} eq "{draw(st.sampled_from(VALUES))}"'}
    if draw(st.booleans()):
        parameters["startIndex"] = "1"
    if draw(st.booleans()):
        parameters["count"] = draw(st.sampled_from(["100", "1", "2", "5000"]))
    return parameters


@st.composite
def list_requests(draw: st.DrawFn) -> dict[str, str]:
    """IdP lookups, and the same with every way of being slightly different."""
    if draw(st.booleans()):
        return draw(idp_lookups())
    attribute = draw(st.sampled_from(ATTRIBUTES))
    operator = draw(st.sampled_from(["eq", "eq", "eq", "EQ", "Eq", "ne", "co", "sw"]))
    value = draw(st.one_of(st.sampled_from(VALUES), TEXT))
    space = draw(st.sampled_from([" ", " ", " ", "  "]))
    expression = f'{attribute}{space}{operator} "{value}"'
    if draw(st.integers(0, 9)) == 0:
        expression = draw(st.sampled_from([f" {expression}", f"{expression} and active eq true"]))
    parameters = {"filter": expression}
    optional = {
        "startIndex": st.sampled_from(["1", "1", "0", "2", "01", "-1", "x"]),
        "count": st.sampled_from(["100", "1", "2", "0", "010", "5000", "-3", "x", "1000000000"]),
        "sortOrder": st.sampled_from(["ascending", "descending"]),
        "attributes": st.sampled_from(["userName", "externalId,emails"]),
    }
    for name, values in optional.items():
        if draw(st.integers(0, 2)) == 0:
            parameters[name] = draw(values)
    return parameters


def with_ids(parameters: dict[str, str], ids: dict[str, str]) -> dict[str, str]:
    expression = parameters["filter"]
    for key, user_id in ids.items():
        expression = expression.replace(f"@id:{key}", user_id)
    return {**parameters, "filter": expression}


@hypothesis.settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(parameters=list_requests())
def test_get_answers_what_the_general_search_answers(
    scim: ScimClient, directory: dict[str, Any], parameters: dict[str, str]
):
    parameters = with_ids(parameters, directory)

    lookup = scim.get("/Users", params=parameters)
    search = scim.post(
        "/Users/.search",
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], **parameters},
    )

    shortcut = ExactLookups(USER_MAPPING, MAX_PAGE_SIZE).recognise(list_parameters(parameters))
    event("exact lookup" if shortcut else "general path")
    event(f"status {lookup.status_code}")
    if lookup.status_code == 200:
        event(f"{lookup.json['totalResults']} found")
    assert (lookup.status_code, lookup.json) == (search.status_code, search.json), parameters


def test_more_matches_than_count_are_counted(scim: ScimClient, directory: dict[str, Any]):
    page = scim.get("/Users", params={"filter": 'externalId eq "shared"', "count": "1"}).json

    assert page["totalResults"] == 2
    assert page["itemsPerPage"] == 1
    assert page["Resources"][0]["id"] == directory["grace"]


def test_a_lookup_finds_the_user_in_any_case_and_only_in_its_tenant(
    scim: ScimClient, directory: dict[str, Any]
):
    page = scim.get("/Users", params={"filter": 'userName eq "GRACE@Example.com"'}).json

    assert page == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 1,
        "startIndex": 1,
        "itemsPerPage": 1,
        "Resources": [scim.get(f"/Users/{directory['grace']}").json],
    }
