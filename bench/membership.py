"""How long one member's PATCH takes in a group of 10 and in one of 50,000 (`make bench`).

Usage: python -m bench.membership [DATABASE_URL]   (default: a fresh SQLite file)

A PostgreSQL URL names a server where the account may create databases; the benchmark makes
a database of its own there and drops it afterwards. Requests go through the Falcon app in
this process (no Redis: the reconcile enqueue is left out), so the figures are the API and
the database, per request.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import falcon.testing
from sqlalchemy import insert, text

from api.app import Services, create_app
from models.audit import AuditWriter
from models.base import utcnow
from models.config import Settings
from models.db import Database
from models.domains import force_verify_domain
from models.groups import GroupService, GroupWrite, MemberRef
from models.migrate import upgrade
from models.organizations import create_organization, enable_scim
from models.sso import set_sso_connection
from models.tables import DirectoryUser
from tests.support.saml import idp_metadata
from tests.support.services import PostgresDatabase

SIZES = (10, 50_000)
ROUNDS = 200
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def seed_users(database: Database, organization_id: int, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    now = utcnow()
    rows = [
        {
            "id": user_id,
            "organization_id": organization_id,
            "user_name": f"user{i}@example.com",
            "external_id": None,
            "display_name": f"User {i}",
            "active": True,
            "document": {"userName": f"user{i}@example.com", "active": True},
            "version": 1,
            "generation": 1,
            "applied_generation": 1,
            "created_at": now,
            "updated_at": now,
        }
        for i, user_id in enumerate(ids)
    ]
    with database.writing() as session:
        for start in range(0, len(rows), 5_000):
            session.execute(insert(DirectoryUser), rows[start : start + 5_000])
    if database.is_postgresql:
        # Users arrive over days, and autovacuum keeps the planner's statistics current; a
        # table loaded a second ago has none, and the planner would scan it for every IN.
        with database.engine.connect() as connection:
            connection.execute(text("ANALYZE directory_users"))
            connection.commit()
    return ids


def measure(database_url: str) -> None:
    upgrade(database_url)
    database = Database.from_url(database_url)
    with database.writing() as session:
        organization = create_organization(session, "bench", "Bench")
        force_verify_domain(session, organization, "example.com", "bench", "benchmark setup")
        set_sso_connection(session, organization, idp_metadata(), "bench")
        token = enable_scim(session, organization).secret
        organization_id = organization.id
    users = seed_users(database, organization_id, max(SIZES) + ROUNDS)
    groups = GroupService(database)
    # Every SCIM request is audited, as in production: the writer inserts in the background.
    audit = AuditWriter(database)
    app = create_app(
        Settings(database_url=database_url, public_url="http://bench"),
        Services(
            database=database,
            on_directory_change=lambda _organization_id: None,
            audit_writer=audit,
        ),
    )
    client = falcon.testing.TestClient(app)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}

    print(f"{database.engine.dialect.name}: p50 / p95 of one single-member PATCH, {ROUNDS} each")
    for size in SIZES:
        started = time.perf_counter()
        write = _group_write(f"Group of {size}")
        group = groups.create_group(organization_id, write, [MemberRef(u) for u in users[:size]])
        seeded = time.perf_counter() - started
        timings: dict[str, list[float]] = {"add": [], "remove": []}
        for user_id in users[max(SIZES) : max(SIZES) + ROUNDS]:
            for action, operation in (
                ("add", {"op": "add", "path": "members", "value": [{"value": user_id}]}),
                ("remove", {"op": "remove", "path": f'members[value eq "{user_id}"]'}),
            ):
                body = {"schemas": [PATCH_SCHEMA], "Operations": [operation]}
                begin = time.perf_counter()
                result = client.simulate_patch(
                    f"/scim/v2/bench/Groups/{group.id}", json=body, headers=headers
                )
                timings[action].append(time.perf_counter() - begin)
                assert result.status_code == 204, result.text
        print(f"  group of {size:>6} (created with its members in {seeded:.1f} s)")
        for action, values in timings.items():
            quantiles = statistics.quantiles(values, n=20)
            print(
                f"    {action:<6} p50 {statistics.median(values) * 1000:6.2f} ms"
                f"   p95 {quantiles[18] * 1000:6.2f} ms"
            )
    audit.close()
    database.dispose()


def _group_write(name: str) -> GroupWrite:
    return GroupWrite(
        document={"schemas": [GROUP_SCHEMA], "displayName": name},
        display_name=name,
        external_id=None,
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1].startswith("postgresql"):
        postgres = PostgresDatabase(sys.argv[1])
        postgres.create()
        try:
            measure(postgres.url)
        finally:
            postgres.drop()
        return
    with tempfile.TemporaryDirectory() as directory:
        measure(f"sqlite:///{Path(directory) / 'bench.db'}")


if __name__ == "__main__":
    main()
