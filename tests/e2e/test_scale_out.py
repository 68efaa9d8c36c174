"""Two of every role on PostgreSQL and Redis through a 5,000-user burst.

Two gunicorn instances behind a round-robin client, two `scimgate worker` instances and two
clocks. The roster must converge with each user applied once, and each clock tick must run
once although two clocks race for it (each tick is claimed with SET NX; the clock counts its
claims in Redis, and Dramatiq's metrics count the jobs that ran).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

from tests.support.operations import Scrape, enable_organization, scim_client
from tests.support.processes import Stack, wait_until
from tests.support.scim import okta_user
from workers.clock import SCHEDULES

USERS = 5000
CLIENTS = 8
SWEEP_SECONDS = next(s.every_seconds for s in SCHEDULES if s.job == "sweep")


def clock_claims(client: redis.Redis, job: str) -> int:
    return int(client.get(f"scimgate:stats:clock-ticks:{job}") or 0)


def jobs_run(stacks: list[Stack], actor: str) -> float:
    """Messages of `actor` processed, summed over every worker's exporter."""
    return sum(
        Scrape.of(stack.metrics_url(name)).value("dramatiq_messages_total", actor_name=actor)
        for stack in stacks
        for name in stack.metrics_ports
        if name.startswith("worker")
    )


def test_two_of_each_role_converge_a_5000_user_burst_once(postgres_stack: Stack, tmp_path: Path):
    # Given two deployments of every role on the same PostgreSQL and Redis
    first = postgres_stack
    second = Stack(
        first.env["SCIMGATE_DATABASE_URL"], first.env["SCIMGATE_REDIS_URL"], tmp_path / "second"
    )
    stacks = [first, second]
    queue = redis.Redis.from_url(first.env["SCIMGATE_REDIS_URL"])
    for stack in stacks:
        # The limiter is not what this test is about: the burst runs as fast as it can.
        stack.env["SCIMGATE_RATE_LIMIT_PER_SECOND"] = "100000"
        stack.env["SCIMGATE_RATE_LIMIT_BURST"] = "100000"
    base_url, token = enable_organization(first, "acme", "example.com")
    path = base_url.removeprefix(first.base)
    try:
        before_clocks = time.time()
        for stack in stacks:
            stack.start_web(workers=2)
            stack.start_worker(processes=1, threads=4)
            stack.start_clock()
        after_clocks = time.time()

        # When an IdP pushes 5,000 users through both web instances
        clients = [scim_client(stack.base + path, token) for stack in stacks]
        round_robin = itertools.cycle(clients)
        lock = threading.Lock()

        def create(index: int) -> int:
            with lock:
                client = next(round_robin)
            email = f"user{index:05d}@example.com"
            return client.post("/Users", json=okta_user(email)).status_code

        burst_started = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = list(pool.map(create, range(USERS)))
        burst_seconds = time.monotonic() - burst_started
        for client in clients:
            client.close()
        assert statuses == [201] * USERS

        # Then the roster converges: every user a member, active, once
        wait_until(
            lambda: (
                json.loads(first.cli("status", "acme", "--json").stdout)["pending_changes"] == 0
            ),
            timeout=120,
            interval=1.0,
            what="the roster to catch up with 5,000 users",
        )
        converged_seconds = time.monotonic() - burst_started
        roster = first.roster("acme")
        assert len(roster) == USERS
        assert {member["status"] for member in roster.values()} == {"active"}
        # ... with exactly one event per user, numbered without gaps or repeats
        events = json.loads(first.cli("events", "acme", "--json", "--limit", "10000").stdout)
        assert [event["type"] for event in events] == ["member.added"] * USERS
        assert len({event["data"]["email"] for event in events}) == USERS
        assert len({event["id"] for event in events}) == USERS
        assert [event["sequence"] for event in events] == list(range(1, USERS + 1))

        # And each clock tick was claimed once and its job ran once, with two clocks racing
        time.sleep(SWEEP_SECONDS)  # at least one more tick since the roster converged
        sweeps_claimed = clock_claims(queue, "sweep")
        now_window = int(time.time() // SWEEP_SECONDS)
        # At most one claim per tick window since the first clock started; at least one per
        # window since both were up, but for the current one, which may not be claimed yet.
        most = now_window - int(before_clocks // SWEEP_SECONDS) + 1
        least = now_window - int(after_clocks // SWEEP_SECONDS) - 1
        assert least <= sweeps_claimed <= most, (least, sweeps_claimed, most)
        assert clock_claims(queue, "daily") == 1
        wait_until(
            lambda: jobs_run(stacks, "maintenance.sweep") == clock_claims(queue, "sweep"),
            timeout=SWEEP_SECONDS * 2,
            what="every claimed sweep to have run exactly once",
        )
        assert jobs_run(stacks, "maintenance.daily") == 1
        # The clocks' liveness probe passes while they run, and SIGTERM stops them cleanly.
        assert first.cli("alive", "--max-age", "30", check=False).returncode == 0
        for stack in stacks:
            clock = stack.processes.pop("clock")
            os.killpg(clock.pid, signal.SIGTERM)
            assert clock.wait(timeout=15) == 0
        # Both workers took part.
        reconciles = [
            Scrape.of(stack.metrics_url("worker")).value(
                "dramatiq_messages_total", actor_name="roster.reconcile"
            )
            for stack in stacks
        ]
        print(
            f"{USERS} users through 2 web instances in {burst_seconds:.1f}s "
            f"({USERS / burst_seconds:.0f}/s); roster converged {converged_seconds:.1f}s after "
            f"the first request; reconcile jobs per worker {reconciles}; "
            f"{sweeps_claimed} sweep ticks claimed for {least}..{most} tick windows, daily once"
        )
    except AssertionError:
        print(first.logs())
        print(second.logs())
        raise
    finally:
        second.stop()
