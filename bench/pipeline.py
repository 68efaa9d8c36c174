"""Pipeline figures: how fast a burst converges, how many jobs it costs, rows/s of one worker.

    python -m bench.pipeline --users 2000 --database sqlite
    python -m bench.pipeline --users 10000 --database postgresql

PostgreSQL runs use the server named by SCIMGATE_TEST_POSTGRES_URL (a role that may create
databases), as the test suite does.

Runs the production processes (gunicorn, one Dramatiq worker process, the clock) on a fresh
database and a fresh redis-server, sends an Okta-shaped burst of user creations from a thread
pool, and prints one JSON object of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from models.db import Database
from models.directory import DirectoryService
from models.domains import force_verify_domain
from models.migrate import upgrade
from models.organizations import create_organization
from models.roster import reconcile_organization
from models.tables import DirectoryUser
from tests.support.burst import ScimBurst, emails, stats
from tests.support.processes import Stack
from tests.support.services import PostgresDatabase, RedisServer


def fresh_database(kind: str, scratch: Path) -> tuple[str, PostgresDatabase | None]:
    if kind == "sqlite":
        url = f"sqlite:///{scratch / 'bench.db'}"
        upgrade(url)
        return url, None
    admin_url = os.environ["SCIMGATE_TEST_POSTGRES_URL"]
    database = PostgresDatabase(admin_url)
    database.create()
    return database.url, database


def pending(database: Database) -> int:
    with database.reading() as session:
        return session.scalar(
            select(func.count()).where(DirectoryUser.generation > DirectoryUser.applied_generation)
        )


def burst_figures(url: str, redis_url: str, users: int, concurrency: int, logs: Path) -> dict:
    stack = Stack(url, redis_url, logs)
    database = Database.from_url(url, pool_size=2)
    try:
        stack.cli("org", "create", "bench", "--name", "Bench", "--domain", "example.com")
        stack.connect_sso("bench")
        output = stack.cli("scim", "enable", "bench").stdout
        token = re.search(r"^SCIM_TOKEN=(\S+)$", output, re.MULTILINE).group(1)
        stack.start_web(workers=2)
        stack.start_worker(processes=1, threads=2)
        stack.start_clock()
        burst = ScimBurst(f"{stack.base}/scim/v2/bench", token, concurrency=concurrency)
        started = time.perf_counter()
        burst.create_users(emails(users))
        last_response = time.perf_counter()
        while pending(database):
            time.sleep(0.02)
        converged = time.perf_counter()
        counters = stats(redis_url)
        return {
            "users": users,
            "statuses": dict(burst.statuses),
            "requests_per_second": round(users / (last_response - started), 1),
            "seconds_from_last_response_to_converged": round(converged - last_response, 3),
            "reconcile_jobs_enqueued": counters.get("sent:roster.reconcile", 0),
        }
    finally:
        stack.stop()
        database.dispose()


def worker_rows_per_second(url: str, users: int) -> dict:
    """One process applying `users` dirty rows, as one worker's reconcile job does."""
    database = Database.from_url(url, pool_size=2)
    with database.writing() as session:
        organization = create_organization(session, "rows", "Rows")
        force_verify_domain(session, organization, "example.org", "bench", "benchmark fixture")
        organization_id = organization.id
    directory = DirectoryService(database)
    from scim2_models import Context

    from api.scim.schemas import parse_user, user_write
    from tests.support.scim import okta_user

    for email in emails(users, domain="example.org"):
        directory.create_user(
            organization_id,
            user_write(parse_user(okta_user(email), Context.RESOURCE_CREATION_REQUEST)),
        )
    started = time.perf_counter()
    result = reconcile_organization(database, organization_id)
    elapsed = time.perf_counter() - started
    database.dispose()
    return {
        "rows": result.rows_applied,
        "batches": result.batches,
        "seconds": round(elapsed, 3),
        "rows_per_second": round(result.rows_applied / elapsed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="scimgate-bench-"))
    redis_server = RedisServer(scratch / "redis")
    redis_server.start()
    url, postgres = fresh_database(args.database, scratch)
    try:
        figures = {
            "database": args.database,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
            "burst": burst_figures(
                url, redis_server.url, args.users, args.concurrency, scratch / "logs"
            ),
            "one_worker_process": worker_rows_per_second(url, args.users),
        }
    finally:
        redis_server.stop()
        if postgres is not None:
            postgres.drop()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
