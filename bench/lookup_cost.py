"""What a `userName eq` lookup costs the web process, by its prepared statement and without.

    .venv/bin/python -m bench.lookup_cost [REQUESTS] [USERS]

Runs the real app in-process (falcon.testing, no network) with its production collaborators
and a real Redis (authentication cache, rate limiter, raised out of the way), on SQLite and,
when SCIMGATE_TEST_POSTGRES_URL is set, on a scratch PostgreSQL database, with USERS seeded
users. Times, in CPU time of this process (what limits a web worker's throughput, and what
another process's load on the machine disturbs least), request by request in turn:

- the lookup IdPs send, `GET /Users?filter=userName eq "..."`, which the prepared statement
  answers (api/scim/listing.py, `ExactLookups`);
- the same lookup with `sortOrder=ascending` added: the same answer, by the general path
  (SearchRequest validation, filter compilation, a statement built for the request);
- `GET /ServiceProviderConfig`: what any authenticated request costs before its own work.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import falcon.testing

from api.app import create_app, default_services
from bench.load import emails
from bench.seed import seed_users
from models.core.config import Settings
from models.core.db import Database
from tests.support.scim import OrganizationFixture
from tests.support.services import POSTGRES_ENV, PostgresDatabase, RedisServer, SqliteTemplate

# Requests of each kind sent, and not timed, before the timed ones: pools and caches warm up.
WARM_UP = 200


def run(label: str, url: str, redis_url: str, requests: int, users: int) -> None:
    settings = Settings(
        database_url=url,
        redis_url=redis_url,
        public_url="https://scim.test",
        rate_limit_per_second=1e9,
        rate_limit_burst=1_000_000_000,
    )
    database = Database.from_url(url, pool_size=4)
    services = default_services(settings, database)
    client = falcon.testing.TestClient(create_app(settings, services))
    organization = OrganizationFixture.create(database, "lookups", ["example.org"])
    addresses = emails(users, "example.org")
    seed_users(database, organization.id, addresses)
    headers = {"Authorization": f"Bearer {organization.token}"}
    base = f"/scim/v2/{organization.slug}"

    def lookup(index: int, extra: str = "") -> str:
        expression = f'userName eq "{addresses[index * 7919 % users]}"'
        return f"{base}/Users?filter={quote(expression)}{extra}"

    kinds = {
        "exact lookup (prepared statement)": lambda index: lookup(index),
        "same lookup, general path": lambda index: lookup(index, "&sortOrder=ascending"),
        "ServiceProviderConfig": lambda _index: f"{base}/ServiceProviderConfig",
    }
    samples: dict[str, list[float]] = {kind: [] for kind in kinds}
    for index in range(WARM_UP + requests):
        for kind, target in kinds.items():
            started = time.process_time()
            response = client.simulate_get(target(index), headers=headers)
            elapsed = time.process_time() - started
            assert response.status_code == 200, response.text
            if index >= WARM_UP:
                samples[kind].append(elapsed)
    assert services.audit_writer is not None
    services.audit_writer.close()
    database.dispose()

    print(f"\n{label}, {users:,} users: {requests} requests of each kind, CPU µs per request")
    print(f"{'request':<36} {'median':>8} {'p10':>8} {'p90':>8}")
    for kind, values in samples.items():
        values.sort()
        cells = [values[len(values) * tenth // 10] * 1e6 for tenth in (5, 1, 9)]
        print(f"{kind:<36} " + " ".join(f"{cell:>8.0f}" for cell in cells))


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    users = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    scratch = Path(tempfile.mkdtemp(prefix="scimgate-bench-"))
    redis_server = RedisServer(scratch / "redis")
    redis_server.start()
    # The broker reads this when default_services first imports the actor modules.
    os.environ["SCIMGATE_REDIS_URL"] = redis_server.url
    print(f"load average before: {[round(load, 2) for load in os.getloadavg()]}")
    try:
        template = SqliteTemplate(scratch)
        template.create()
        run("SQLite", template.fresh_url(), redis_server.url, requests, users)
        admin_url = os.environ.get(POSTGRES_ENV)
        if admin_url:
            postgres = PostgresDatabase(admin_url)
            postgres.create()
            try:
                run("PostgreSQL", postgres.url, redis_server.url, requests, users)
            finally:
                postgres.drop()
    finally:
        redis_server.stop()
    print(f"load average after: {[round(load, 2) for load in os.getloadavg()]}")


if __name__ == "__main__":
    main()
