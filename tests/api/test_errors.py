"""Errors leave as SCIM Error bodies with the right status, whatever went wrong."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import falcon
import falcon.testing
import pytest
from sqlalchemy import Engine, create_engine, text

from api.app import create_app, default_services
from api.dev import free_port
from api.errors import install_error_handlers
from api.media import install_media_handlers
from models.core.config import Settings
from models.core.db import Database
from tests.support.scim import ScimClient, okta_group, okta_user

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def assert_scim_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    assert response.json["schemas"] == [ERROR]
    assert response.json["status"] == str(status)
    return response.json


@pytest.mark.parametrize("path", ["/Widgets", "/Users/x/y", "/Groups/x/members", "/Me/x"])
def test_unknown_resource_types_and_paths_are_404(scim: ScimClient, path: str):
    assert_scim_error(scim.get(path), 404)


@pytest.mark.parametrize(
    "method, path",
    [
        ("DELETE", "/Users"),
        ("PUT", "/Groups"),
        ("PATCH", "/Groups"),
        ("POST", "/Users/some-id"),
        ("GET", "/Bulk"),
        ("DELETE", "/ServiceProviderConfig"),
    ],
)
def test_a_method_an_endpoint_lacks_is_405_with_allow(scim: ScimClient, method: str, path: str):
    response = scim.request(method, path, {"schemas": []})

    assert_scim_error(response, 405)
    assert response.headers["allow"]


@pytest.mark.parametrize("path", ["/Users", "/Groups", "/Bulk"])
def test_another_media_type_is_415(scim: ScimClient, path: str):
    response = scim.request("POST", path, b"<user/>", headers={"Content-Type": "application/xml"})

    assert_scim_error(response, 415)


@pytest.mark.parametrize("path", ["/Users", "/Groups", "/Bulk"])
def test_a_body_past_the_limit_is_413(scim: ScimClient, settings, path: str):
    body = b'{"displayName": "' + b"x" * settings.max_body_bytes + b'"}'

    assert_scim_error(scim.request("POST", path, body), 413)


@pytest.mark.parametrize(
    "body",
    [b"null", b"42", b'"x"', b"[]", b"{}", b'{"schemas": 1}', b'{"displayName": ["x"]}'],
)
@pytest.mark.parametrize("path", ["/Users", "/Groups"])
def test_bodies_of_the_wrong_shape_are_400(scim: ScimClient, path: str, body: bytes):
    response = scim.request("POST", path, body)

    error = assert_scim_error(response, 400)
    assert error["scimType"] in ("invalidValue", "invalidSyntax")


def test_the_entra_flag_on_the_base_url_is_accepted(scim: ScimClient):
    created = scim.post("/Users?aadOptscim062020", okta_user("ada@example.com"))
    listed = scim.get("/Users?aadOptscim062020&filter=userName%20eq%20%22ada%40example.com%22")
    group = scim.post("/Groups?aadOptscim062020", okta_group("Engineering"))

    assert created.status_code == 201
    assert listed.json["totalResults"] == 1
    assert group.status_code == 201


@pytest.mark.parametrize("count", ["x", "1.5"])
def test_a_bad_count_on_groups_is_400(scim: ScimClient, count: str):
    error = assert_scim_error(scim.get(f"/Groups?count={count}"), 400)

    assert error["scimType"] == "invalidValue"


# -- what the database says ---------------------------------------------------------------
#
# Each case makes a real database fail or refuse in its own words, and checks the answer
# the error handlers give for it. A refusal is the client's (400: retrying cannot help); a
# failure is the server's (503 with Retry-After: the same request succeeds later).


class RunStatement:
    """A SCIM route that runs one statement, so the database's own error reaches the handlers."""

    def __init__(self, engine: Engine, statement: str) -> None:
        self._engine = engine
        self._statement = statement

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        with self._engine.connect() as connection:
            connection.execute(text(self._statement))


def answer_to(engine: Engine, statement: str) -> falcon.testing.Result:
    app = falcon.App()
    install_media_handlers(app)
    install_error_handlers(app)
    app.add_route("/scim/v2/acme/Users", RunStatement(engine, statement))
    return falcon.testing.TestClient(app).simulate_get("/scim/v2/acme/Users")


def assert_retry_later(response: falcon.testing.Result) -> None:
    error = assert_scim_error(response, 503)
    assert "scimType" not in error
    assert int(response.headers["retry-after"]) > 0


def raise_sqlstate(code: str) -> str:
    """PostgreSQL raising the error of one SQLSTATE, as the server itself would send it."""
    return f"DO $$ BEGIN RAISE EXCEPTION 'raised by the test' USING ERRCODE = '{code}'; END $$"


@pytest.fixture
def postgres_engine(postgres_database) -> Iterator[Engine]:
    engine = create_engine(postgres_database.url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A SQLite database file, and an engine on it that gives up at once when it is locked."""
    path = str(tmp_path / "statements.db")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    yield path, engine
    engine.dispose()


def test_sqlite_refusing_an_expression_as_too_large_is_400_too_many(sqlite_file):
    _, engine = sqlite_file
    # SQLite parses an OR chain as a tree one level per term, and refuses 1,000 levels.
    response = answer_to(engine, "SELECT 1 WHERE " + " OR ".join(["1 = 1"] * 1_200))

    assert assert_scim_error(response, 400)["scimType"] == "tooMany"
    assert "retry-after" not in response.headers


def test_a_locked_sqlite_database_is_503_with_retry_after(sqlite_file):
    path, engine = sqlite_file
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        response = answer_to(engine, "INSERT INTO t VALUES (1)")
    finally:
        writer.rollback()
        writer.close()

    assert_retry_later(response)


@pytest.mark.parametrize("sqlstate", ["54001", "54000", "54023"])
def test_postgres_program_limits_are_400_too_many(postgres_engine, sqlstate: str):
    response = answer_to(postgres_engine, raise_sqlstate(sqlstate))

    assert assert_scim_error(response, 400)["scimType"] == "tooMany"


@pytest.mark.parametrize(
    "sqlstate",
    [
        "40001",  # serialization failure: the same request succeeds when it comes again
        "40P01",  # deadlock detected
        "08006",  # connection failure
        "53300",  # too many connections
        "53100",  # disk full
        "57P01",  # administrator shutdown
        "57014",  # query canceled
    ],
)
def test_postgres_failing_rather_than_refusing_is_503_with_retry_after(
    postgres_engine, sqlstate: str
):
    assert_retry_later(answer_to(postgres_engine, raise_sqlstate(sqlstate)))


@pytest.fixture(params=["sqlite", "postgresql"])
def unreachable_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL nothing answers: a directory for SQLite, a closed port for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}"
    return f"postgresql+psycopg://scimgate:scimgate@127.0.0.1:{free_port()}/scimgate"


@pytest.fixture
def app_without_database(unreachable_database_url: str, redis_url: str) -> Iterator[falcon.App]:
    """The app, with its real collaborators, on a database that is not there."""
    settings = Settings(database_url=unreachable_database_url, redis_url=redis_url)
    database = Database.from_url(unreachable_database_url, pool_size=1)
    services = default_services(settings, database)
    yield create_app(settings, services)
    assert services.audit_writer is not None
    services.audit_writer.close()
    database.dispose()


def test_a_database_that_cannot_be_reached_is_503_with_retry_after(app_without_database):
    scim = ScimClient(app_without_database, "acme", "scimgate_not-checked-before-the-database")

    assert_retry_later(scim.get("/Users"))
