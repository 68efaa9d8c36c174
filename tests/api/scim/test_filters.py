"""Filtering /Users through the API: every operator, value paths, extensions, case rules."""

from __future__ import annotations

import falcon
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.core.db import Database
from tests.support.scim import OrganizationFixture, ScimClient, okta_user

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCIMGATE = "urn:ietf:params:scim:schemas:extension:scimgate:2.0:User"


@pytest.fixture
def people(scim: ScimClient) -> dict[str, dict]:
    """Three users with different attributes; keyed by a short name."""
    bodies = {
        "ada": okta_user(
            "Ada@example.com",
            "Ada",
            "Lovelace",
            title="Countess",
            externalId="EXT-ada",
            emails=[
                {"value": "ada@example.com", "type": "work", "primary": True},
                {"value": "ada.home@example.com", "type": "home"},
            ],
            schemas=["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, SCIMGATE],
            **{
                ENTERPRISE: {
                    "employeeNumber": "701",
                    "manager": {"value": "boss-1", "$ref": "https://scim.test/Users/boss-1"},
                },
                SCIMGATE: {"role": "owner"},
            },
        ),
        "grace": okta_user("grace@example.com", "Grace", "Hopper", externalId="ext-grace"),
        "alan": okta_user(
            "alan@example.com",
            "Alan",
            "Turing",
            active=False,
            emails=[{"value": "alan@example.com", "type": "home"}],
        ),
    }
    created = {}
    for key, body in bodies.items():
        response = scim.post("/Users", body)
        assert response.status_code == 201, response.text
        created[key] = response.json
    return created


def names(scim: ScimClient, expression: str) -> set[str]:
    response = scim.get("/Users", params={"filter": expression})
    assert response.status_code == 200, response.text
    assert response.json["totalResults"] == len(response.json["Resources"])
    return {user["name"]["givenName"].lower() for user in response.json["Resources"]}


@pytest.mark.parametrize(
    "expression, expected",
    [
        ('userName eq "ada@EXAMPLE.com"', {"ada"}),
        ('userName ne "ada@example.com"', {"grace", "alan"}),
        ('userName co "RAC"', {"grace"}),
        ('userName sw "A"', {"ada", "alan"}),
        ('userName ew "E@EXAMPLE.COM"', {"grace"}),
        ('userName gt "alan@example.com"', {"grace"}),
        ('userName ge "alan@example.com"', {"grace", "alan"}),
        ('userName lt "b"', {"ada", "alan"}),
        ('userName le "ada@example.com"', {"ada"}),
        ("title pr", {"ada"}),
        ("not (title pr)", {"grace", "alan"}),
        ("title eq null", {"grace", "alan"}),
        ("active eq false", {"alan"}),
        ("active ne false", {"ada", "grace"}),
        ('name.givenName eq "grace" or name.familyName sw "tur"', {"grace", "alan"}),
        ('(userName sw "a" or userName sw "g") and not (active eq false)', {"ada", "grace"}),
        ('emails[type eq "work" and value co "@example.com"]', {"ada", "grace"}),
        ('emails[type eq "home"]', {"ada", "alan"}),
        ('emails[not (type eq "work")]', {"ada", "alan"}),
        ('emails co "HOME@"', {"ada"}),
        ('emails.value ew "alan@example.com"', {"alan"}),
        ("emails.primary eq true", {"ada", "grace"}),
        ('emails.type ne "work"', {"alan"}),
        ('schemas[value eq "' + ENTERPRISE + '"]', {"ada"}),
        (f'{ENTERPRISE}:employeeNumber eq "701"', {"ada"}),
        (f'{ENTERPRISE}:manager.value eq "boss-1"', {"ada"}),
        (f"{ENTERPRISE}:manager pr", {"ada"}),
        (f'{SCIMGATE}:role eq "OWNER"', {"ada"}),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "gr"', {"grace"}),
        ('USERNAME Eq "GRACE@example.com"', {"grace"}),
        ('meta.resourceType eq "User"', {"ada", "grace", "alan"}),
        ('meta.created gt "2000-01-01T00:00:00Z"', {"ada", "grace", "alan"}),
        ('meta.lastModified lt "2000-01-01T00:00:00Z"', set()),
    ],
)
def test_filters_select_exactly_the_matching_users(
    scim: ScimClient, people: dict, expression: str, expected: set[str]
):
    assert names(scim, expression) == expected


def test_external_id_and_id_are_case_exact(scim: ScimClient, people: dict):
    assert names(scim, 'externalId eq "EXT-ada"') == {"ada"}
    assert names(scim, 'externalId eq "ext-ada"') == set()
    assert names(scim, 'externalId sw "ext"') == {"grace"}
    ada_id = people["ada"]["id"]
    assert names(scim, f'id eq "{ada_id}"') == {"ada"}
    assert names(scim, f'id eq "{ada_id.upper()}"') == set()


def test_like_wildcards_in_values_are_literal(scim: ScimClient, people: dict):
    scim.post("/Users", okta_user("under_score@example.com", "Under", "Score"))
    assert names(scim, 'userName co "_"') == {"under"}
    assert names(scim, 'userName co "%"') == set()


def test_a_filter_never_reaches_another_organization(
    scim: ScimClient, people: dict, app: falcon.App, database: Database
):
    other = OrganizationFixture.create(database, "other", ["example.com"])
    other_client = ScimClient(app, other.slug, other.token)
    other_client.post("/Users", okta_user("mallory@example.com", "Mallory", "M"))

    assert names(scim, 'userName pr or userName eq "mallory@example.com"') == {
        "ada",
        "grace",
        "alan",
    }


@pytest.mark.parametrize(
    "expression",
    [
        'nosuch eq "x"',
        "userName eq",
        'userName xx "a"',
        '(userName eq "a"',
        "active gt true",
        'active co "t"',
        'name eq "Ada"',
        'emails[foo eq "x"]',
        'emails[type eq "work"].value eq "x"',
        'emails[type eq "work" and emails[value pr]]',
        'password eq "secret"',
        'groups[value eq "g1"]',
        'meta.location co "x"',
        'meta.created gt "2020-01-01T00:00:00"',
        'meta.created co "2020"',
        'userName eq "a\\u0000b"',
        'userName eq "\\ud800"',
        'x509Certificates.value eq "YWJj"',
        'title[value eq "x"]',
    ],
)
def test_filters_the_server_cannot_evaluate_exactly_are_invalid_filter(
    scim: ScimClient, people: dict, expression: str
):
    response = scim.get("/Users", params={"filter": expression})

    assert response.status_code == 400, response.text
    assert response.json["scimType"] == "invalidFilter"
    assert response.json["status"] == "400"


def test_a_date_time_whose_instant_no_date_time_holds_is_invalid_filter(scim: ScimClient):
    # Both are valid RFC 3339 dateTimes; in UTC they fall past year 9999 or before year 1.
    for expression in (
        'meta.lastModified gt "9999-12-31T23:59:59-14:00"',
        'meta.created lt "0001-01-01T00:00:00+14:00"',
    ):
        response = scim.get("/Users", params={"filter": expression})

        assert response.status_code == 400, response.text
        assert response.json["scimType"] == "invalidFilter"
        assert "outside the range" in response.json["detail"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    expression=st.one_of(
        st.text(max_size=40),
        st.lists(
            st.sampled_from(
                [
                    "userName",
                    "emails",
                    "[",
                    "]",
                    "(",
                    ")",
                    "not",
                    "and",
                    "or",
                    "eq",
                    "co",
                    "gt",
                    "pr",
                    '"a"',
                    "true",
                    "null",
                    "1",
                    ".",
                    "value",
                    ENTERPRISE + ":",
                    "meta.created",
                    '"2020-01-01T00:00:00Z"',
                    "\\",
                    '"',
                    " ",
                ]
            ),
            max_size=12,
        ).map(" ".join),
    )
)
def test_no_filter_string_gets_a_server_error(scim: ScimClient, expression: str):
    response = scim.get("/Users", params={"filter": expression})

    assert response.status_code in (200, 400), (expression, response.text)
    if response.status_code == 400:
        assert response.json["scimType"] in ("invalidFilter", "invalidValue")
