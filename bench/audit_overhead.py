"""What auditing every SCIM request costs, written three ways.

    .venv/bin/python -m bench.audit_overhead [REQUESTS]

Runs the real app in-process (falcon.testing, no network) on SQLite and, when
SCIMGATE_TEST_POSTGRES_URL is set, on a scratch PostgreSQL database, and times Okta's
commonest requests: GET /Users/{id} and the full-sync PUT that changes nothing. Each is
timed with no audit at all, with a record written in its own transaction per request (the
naive way), and with the buffered writer scimgate uses.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import falcon.testing
from sqlalchemy import insert

from api.app import Services, create_app
from models.audit import AuditEntry, AuditWriter
from models.config import Settings
from models.db import Database
from models.tables import AuditRecord
from tests.support.scim import OrganizationFixture, okta_user
from tests.support.services import POSTGRES_ENV, PostgresDatabase, SqliteTemplate

# Requests of each kind sent, and not timed, before the timed ones: pools and caches warm up.
WARM_UP = 100


class NoAudit(AuditWriter):
    def record(self, entry: AuditEntry) -> None:
        pass


class AuditEachRequest(AuditWriter):
    """The naive way: one INSERT, in a transaction of its own, inside every request."""

    def record(self, entry: AuditEntry) -> None:
        with self._database.writing() as session:
            session.execute(insert(AuditRecord), [asdict(entry)])


def measure(database: Database, writer: AuditWriter, requests: int) -> dict[str, float]:
    settings = Settings(database_url="unused", public_url="https://scim.test")
    app = create_app(settings, Services(database, lambda _id: None, writer))
    organization = OrganizationFixture.create(database, f"bench{time.monotonic_ns()}", ["acme.com"])
    client = falcon.testing.TestClient(app)
    headers = {
        "Authorization": f"Bearer {organization.token}",
        "Content-Type": "application/scim+json",
    }
    base = f"/scim/v2/{organization.slug}"
    user = client.simulate_post(f"{base}/Users", headers=headers, json=okta_user("ada@acme.com"))
    user_id = user.json["id"]
    document = client.simulate_get(f"{base}/Users/{user_id}", headers=headers).json
    timings: dict[str, list[float]] = {"GET": [], "PUT": []}
    for _ in range(WARM_UP):
        client.simulate_get(f"{base}/Users/{user_id}", headers=headers)
        client.simulate_put(f"{base}/Users/{user_id}", headers=headers, json=document)
    for _ in range(requests):
        started = time.perf_counter()
        client.simulate_get(f"{base}/Users/{user_id}", headers=headers)
        timings["GET"].append(time.perf_counter() - started)
        started = time.perf_counter()
        client.simulate_put(f"{base}/Users/{user_id}", headers=headers, json=document)
        timings["PUT"].append(time.perf_counter() - started)
    writer.close()
    return {
        f"{method} {stat}": value * 1000
        for method, samples in timings.items()
        for stat, value in (
            ("median", statistics.median(samples)),
            ("p95", statistics.quantiles(samples, n=20)[18]),
        )
    }


def run(label: str, url: str, requests: int) -> None:
    database = Database.from_url(url, pool_size=4)
    print(f"\n{label}: {requests} requests of each kind, milliseconds per request")
    print(f"{'audit':<22} {'GET median':>11} {'GET p95':>8} {'PUT median':>11} {'PUT p95':>8}")
    for name, writer_type in [
        ("none", NoAudit),
        ("each request (naive)", AuditEachRequest),
        ("buffered (scimgate)", AuditWriter),
    ]:
        result = measure(database, writer_type(database), requests)
        print(
            f"{name:<22} {result['GET median']:>11.2f} {result['GET p95']:>8.2f} "
            f"{result['PUT median']:>11.2f} {result['PUT p95']:>8.2f}"
        )
    database.dispose()


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    scratch = Path(tempfile.mkdtemp(prefix="scimgate-bench-"))
    template = SqliteTemplate(scratch)
    template.create()
    run("SQLite", template.fresh_url(), requests)
    admin_url = os.environ.get(POSTGRES_ENV)
    if admin_url:
        postgres = PostgresDatabase(admin_url)
        postgres.create()
        try:
            run("PostgreSQL", postgres.url, requests)
        finally:
            postgres.drop()


if __name__ == "__main__":
    main()
