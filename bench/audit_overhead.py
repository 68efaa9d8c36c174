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
from models.audit.tables import AuditRecord
from models.audit.trail import AuditEntry, AuditWriter
from models.core.config import Settings
from models.core.db import Database
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


class Client:
    """The real app with one way of auditing, and an organization with one user to hit."""

    def __init__(self, database: Database, writer: AuditWriter) -> None:
        settings = Settings(database_url="unused", public_url="https://scim.test")
        self.writer = writer
        app = create_app(settings, Services(database, lambda _id: None, writer))
        slug = f"bench{time.monotonic_ns()}"
        organization = OrganizationFixture.create(database, slug, ["acme.com"])
        self._client = falcon.testing.TestClient(app)
        self._headers = {
            "Authorization": f"Bearer {organization.token}",
            "Content-Type": "application/scim+json",
        }
        self._base = f"/scim/v2/{slug}"
        created = self._client.simulate_post(
            f"{self._base}/Users", headers=self._headers, json=okta_user("ada@acme.com")
        )
        self._user = f"{self._base}/Users/{created.json['id']}"
        self._document = self._client.simulate_get(self._user, headers=self._headers).json
        self.timings: dict[str, list[float]] = {"GET": [], "PUT": []}

    def once(self, timed: bool = True) -> None:
        started = time.perf_counter()
        self._client.simulate_get(self._user, headers=self._headers)
        middle = time.perf_counter()
        self._client.simulate_put(self._user, headers=self._headers, json=self._document)
        ended = time.perf_counter()
        if timed:
            self.timings["GET"].append(middle - started)
            self.timings["PUT"].append(ended - middle)

    def summary(self) -> str:
        cells = []
        for samples in self.timings.values():
            cells.append(f"{statistics.median(samples) * 1000:>11.2f}")
            cells.append(f"{statistics.quantiles(samples, n=20)[18] * 1000:>8.2f}")
        return " ".join(cells)


def run(label: str, url: str, requests: int) -> None:
    """Interleave the three ways request by request, so the machine's noise hits all alike."""
    database = Database.from_url(url, pool_size=4)
    clients = {
        "none": Client(database, NoAudit(database)),
        "each request (naive)": Client(database, AuditEachRequest(database)),
        "buffered (scimgate)": Client(database, AuditWriter(database)),
    }
    for round_number in range(WARM_UP + requests):
        for client in clients.values():
            client.once(timed=round_number >= WARM_UP)
    for client in clients.values():
        client.writer.close()
    print(f"\n{label}: {requests} requests of each kind, milliseconds per request")
    print(f"{'audit':<22} {'GET median':>11} {'GET p95':>8} {'PUT median':>11} {'PUT p95':>8}")
    for name, client in clients.items():
        print(f"{name:<22} {client.summary()}")
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
