"""scimgate behind a pooler in transaction mode (PgBouncer), with `?pool_mode=transaction`."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from api.app import create_app, default_services
from models.core.config import Settings
from models.core.db import Database, create_database_engine
from models.roster.reconcile import reconcile_organization, roster_of
from tests.support.scim import OrganizationFixture, ScimClient, okta_user
from tests.support.services import PgBouncer, PostgresDatabase

# psycopg prepares a statement on the server once it has run this many times.
PREPARE_THRESHOLD = 5


@pytest.fixture
def pgbouncer(postgres_database: PostgresDatabase) -> Iterator[PgBouncer]:
    postgres_database.truncate()
    bouncer = PgBouncer(postgres_database.url, server_connections=2)
    bouncer.start()
    yield bouncer
    bouncer.stop()


def run_on_another_server_connection(engine: Engine, url: str) -> None:
    """Run a query often enough to be prepared, then once more on another server connection.

    The pooler hands out its most recently used server connection first: the query keeps
    landing on one, until another client holds that one in a transaction.
    """
    query = text("SELECT count(*) FROM organizations WHERE id > :id")
    holder = create_database_engine(url)
    try:
        with engine.connect() as client:
            for _ in range(PREPARE_THRESHOLD + 2):
                client.execute(query, {"id": 0})
                client.commit()
            with holder.connect() as other_client:
                other_client.execute(text("SELECT 1"))  # its transaction holds that connection
                client.execute(query, {"id": 0})
                client.commit()
    finally:
        holder.dispose()


def test_without_the_pool_mode_a_prepared_statement_goes_missing(
    pgbouncer: PgBouncer, postgres_database: PostgresDatabase
):
    # The failure the setting exists for, shown on this pooler: were it not shown, the
    # test below would prove nothing.
    for reads_only in (True, False):
        url = pgbouncer.url_for(postgres_database.url, pool_mode=None)
        engine = create_database_engine(url, reads_only=reads_only)
        try:
            with pytest.raises(DBAPIError, match="prepared statement"):
                run_on_another_server_connection(engine, pgbouncer.url_for(postgres_database.url))
        finally:
            engine.dispose()


def test_with_the_pool_mode_nothing_is_prepared(
    pgbouncer: PgBouncer, postgres_database: PostgresDatabase
):
    url = pgbouncer.url_for(postgres_database.url)
    for reads_only in (True, False):
        engine = create_database_engine(url, reads_only=reads_only)
        try:
            run_on_another_server_connection(engine, url)
        finally:
            engine.dispose()


def test_the_scim_api_and_the_roster_work_through_the_pooler(
    pgbouncer: PgBouncer, postgres_database: PostgresDatabase, redis_url: str
):
    settings = Settings(
        database_url=pgbouncer.url_for(postgres_database.url),
        redis_url=redis_url,
        public_url="https://scim.test",
        rate_limit_per_second=10_000,
        rate_limit_burst=10_000,
    )
    # More client connections than the pooler has server connections, used at once.
    database = Database.from_url(settings.database_url, pool_size=6)
    services = default_services(settings, database)
    try:
        tenant = OrganizationFixture.create(database, "acme", ["example.com"])
        scim = ScimClient(create_app(settings, services), "acme", tenant.token)

        def provision(i: int) -> list[int]:
            email = f"user{i}@example.com"
            statuses = [scim.get("/Users", params={"filter": f'userName eq "{email}"'}).status_code]
            created = scim.post("/Users", okta_user(email))
            statuses.append(created.status_code)
            user = created.json
            assert created.status_code == 201, created.text
            for _ in range(PREPARE_THRESHOLD + 2):
                statuses.append(scim.get(f"/Users/{user['id']}").status_code)
                statuses.append(scim.put(f"/Users/{user['id']}", user).status_code)
            user["active"] = False
            statuses.append(scim.put(f"/Users/{user['id']}", user).status_code)
            return statuses

        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = [status for result in pool.map(provision, range(24)) for status in result]
        assert set(statuses) == {200, 201}

        reconcile_organization(database, tenant.id)
        with database.reading() as session:
            roster = roster_of(session, tenant.id)
        assert len(roster) == 24
        assert {member["status"] for member in roster} == {"deactivated"}
    finally:
        assert services.audit_writer is not None
        services.audit_writer.close()
        database.dispose()
