"""Every route of the app, every method, every wrong credential, every spelling of its path:
none reaches a responder.

The walk reads the app's own route table, so a route added later is covered without
touching this file. A probe placed after every middleware of ours records each request that
got past them and completes it there, so no responder runs, and the walk can also check the
other way round: the right credential does get through, on every route and method.
"""

from __future__ import annotations

import secrets

import falcon
import falcon.testing
import pytest

from api.routing import Access, DeclaredRouter, Route, UndeclaredAccess, declared_routes
from models.core.db import Database
from tests.support.admin import operator_token
from tests.support.routes import concrete_path, spellings
from tests.support.scim import OrganizationFixture

# Routes anyone may call. A route joins this list only by a deliberate change here.
PUBLIC_ROUTES = {
    "/healthz",
    "/readyz",
    "/scim/v2/{organization}/ServiceProviderConfig",
    "/scim/v2/{organization}/ResourceTypes",
    "/scim/v2/{organization}/ResourceTypes/{name}",
    "/scim/v2/{organization}/Schemas",
    "/scim/v2/{organization}/Schemas/{schema_id}",
}
# Every HTTP method and WebDAV's, which Falcon routes too (not WEBSOCKET: no WSGI request).
METHODS = [method for method in falcon.constants.COMBINED_METHODS if method != "WEBSOCKET"]
REFUSED = {401, 403, 404}


class ReachedProbe:
    """Last middleware: records each request that got past ours, and answers it itself."""

    def __init__(self) -> None:
        self.reached: list[tuple[str, str]] = []

    def process_resource(self, req, resp, resource, params) -> None:
        self.reached.append((req.method, req.uri_template))
        resp.status = falcon.HTTP_204
        resp.complete = True


@pytest.fixture
def database_url(sqlite_template) -> str:
    """SQLite only: access is decided before any query that differs between databases, and
    the walk sends some ten thousand requests (tests/api/admin/test_operator_tokens.py and
    tests/api/test_tenant_isolation.py cover the token lookups on both)."""
    return sqlite_template.fresh_url()


@pytest.fixture
def probe(app: falcon.App) -> ReachedProbe:
    probe = ReachedProbe()
    app.add_middleware(probe)
    return probe


def wrong_credentials(
    route: Route, acme: OrganizationFixture, globex: OrganizationFixture, operator: str
) -> dict[str, str | None]:
    """Every credential that must not open `route` (called for acme's URL)."""
    if route.access is Access.SCIM:
        return {
            "none": None,
            "made-up SCIM token": "scimgate_" + secrets.token_urlsafe(32),
            "another organization's token": globex.token,
            "operator token": operator,
            "not a bearer token": "",
        }
    return {
        "none": None,
        "made-up operator token": "scimgate_op_" + secrets.token_urlsafe(32),
        "SCIM token": acme.token,
        "not a bearer token": "",
    }


def request(client: falcon.testing.TestClient, method: str, path: str, token: str | None):
    headers = {"Content-Type": "application/scim+json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}" if token else "Basic YWRtaW46YWRtaW4="
    return client.simulate_request(method, path, headers=headers, body=b"{}")


def test_every_route_declares_its_access_and_only_the_known_ones_are_public(app: falcon.App):
    routes = declared_routes(app)

    assert len(routes) > 20
    assert {route.template for route in routes if route.access is Access.PUBLIC} == PUBLIC_ROUTES
    for route in routes:
        if route.template.startswith("/admin/"):
            assert route.access is Access.OPERATOR, route.template
        elif route.template not in PUBLIC_ROUTES:
            assert route.access is Access.SCIM, route.template
            assert "{organization}" in route.template


def test_no_wrong_credential_and_no_spelling_of_a_path_reaches_a_responder(
    app: falcon.App, probe: ReachedProbe, database: Database, acme, globex
):
    client = falcon.testing.TestClient(app)
    operator = operator_token(database)
    let_through = []
    for route in declared_routes(app):
        if route.access is Access.PUBLIC:
            continue
        path = concrete_path(route, acme.slug)
        for name, token in wrong_credentials(route, acme, globex, operator).items():
            for spelling in spellings(path):
                # Other spellings are refused before routing, whatever the method.
                for method in METHODS if spelling == path else ("GET", "POST"):
                    response = request(client, method, spelling, token)
                    if probe.reached or response.status_code not in REFUSED:
                        let_through.append((method, spelling, name, response.status_code))
                        probe.reached.clear()

    assert let_through == []


def test_the_odd_spellings_are_refused_even_with_the_right_credential(
    app: falcon.App, probe: ReachedProbe, database: Database, acme
):
    client = falcon.testing.TestClient(app)
    operator = operator_token(database)
    for route in declared_routes(app):
        path = concrete_path(route, acme.slug)
        token = {Access.SCIM: acme.token, Access.OPERATOR: operator}.get(route.access)
        for spelling in list(spellings(path))[1:]:
            response = request(client, "GET", spelling, token)

            assert response.status_code == 404, (spelling, response.status_code)
            assert "traceback" not in response.text.lower()
    assert probe.reached == []


def test_the_right_credential_reaches_every_responder(
    app: falcon.App, probe: ReachedProbe, database: Database, acme
):
    # The other side of the walk above: without it, a probe that never fired would pass it.
    client = falcon.testing.TestClient(app)
    operator = operator_token(database)
    expected = []
    for route in declared_routes(app):
        token = {Access.SCIM: acme.token, Access.OPERATOR: operator}.get(route.access)
        for method in route.methods:
            response = request(client, method, concrete_path(route, acme.slug), token)
            assert response.status_code == 204, (method, route.template, response.text)
            expected.append((method, route.template))

    assert probe.reached == expected


class TestTheRouterRefusesUndeclaredRoutes:
    def test_a_route_without_access_is_refused_when_added(self):
        app = falcon.App(router=DeclaredRouter())

        with pytest.raises(UndeclaredAccess, match="/things declares no access"):
            app.add_route("/things", _Things())

    def test_a_falsy_resource_is_refused_because_falcon_would_skip_its_middleware(self):
        app = falcon.App(router=DeclaredRouter())

        with pytest.raises(ValueError, match="falsy resource"):
            app.add_route("/things", _EmptyThings(), access=Access.SCIM)


class _Things:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = []


class _EmptyThings(_Things):
    def __len__(self) -> int:
        return 0
