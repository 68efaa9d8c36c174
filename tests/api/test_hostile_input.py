"""Hostile input at every route: whatever is sent, the answer is never a 5xx or a traceback.

The walk reads the app's route table, so new routes get the same treatment. Each request
carries the credential its route needs, so the input reaches the code that parses it: deep
JSON (beyond the parser and just within it), bodies that are not JSON, XML with entities,
numbers far outside any range, filters with a thousand terms. SCIM routes are walked for
organization acme, admin routes for another organization, so an admin action that does
succeed (enabling SCIM, say) cannot lock the SCIM walk out.
"""

from __future__ import annotations

import falcon
import falcon.testing
import pytest

from api.routing import Access, Route, declared_routes
from models.core.db import Database
from tests.support.admin import operator_token
from tests.support.hostile import USER_SCHEMA, hostile_cases
from tests.support.routes import concrete_path
from tests.support.scim import OrganizationFixture, ScimClient, okta_group, okta_user


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
            for what, request in hostile_cases(method):
                response = client.simulate_request(
                    method,
                    path,
                    query_string=request.get("query_string"),
                    body=request.get("body"),
                    headers=(
                        {**headers, "Content-Type": request["content_type"]}
                        if "content_type" in request
                        else headers
                    ),
                )
                if broken(response):
                    failures.append((method, route.template, what, response.status_code))

    assert not failures, "\n".join(map(str, failures))
