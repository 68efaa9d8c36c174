"""The scenarios, run against scimgate on one database and against the two baselines.

Each returns a dict of figures (see bench/README.md for what each means). Scenario numbers
follow the README: 1 Okta initial push, 2 Reapply Mappings, 3 import, 4 userName lookups,
5 single-member group changes, 6 Entra ID's initial cycle.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, exists, func, select, text

from bench.deploy import (
    FreshDatabase,
    Sampler,
    Servers,
    dirty_rows,
    peak_rss_mb,
    pid_of,
    reconcile_jobs_sent,
    run_load,
    wait_converged,
)
from bench.figures import latency_figures, timeline, traffic_figures
from bench.load import emails
from bench.seed import create_tenant, seed_users
from models.core.db import Database
from models.directory.tables import DirectoryUser
from models.events.tables import Event
from models.roster.reconcile import reconcile_organization
from models.roster.tables import Account, Member

WORKER_PROCESSES, WORKER_THREADS = 2, 4  # as the Procfile runs them


@dataclass(frozen=True)
class Sizes:
    """Every size the scenarios take; the defaults are those of `make bench`."""

    users: int = 10_000
    concurrency: int = 8
    changed_fraction: float = 0.10
    page_size: int = 100
    import_walks: int = 3
    lookup_sizes: tuple[int, ...] = (2_000, 10_000, 100_000)
    lookups: int = 2_000
    group_sizes: tuple[int, ...] = (10, 50_000)
    group_seed_chunk: int = 1_000
    # The p99 of 2,000 changes is their 20th slowest. Of 400 it would be the 4th, which one
    # scheduling hiccup on a shared two-core machine moves by half.
    membership_rounds: int = 1_000
    # Rounds sent first on the same connection and left out of the figures: the first change
    # on a fresh connection took 67 to 108 ms in five runs of nine, a p99 on its own.
    membership_warm_up: int = 20
    entra_groups: int = 100
    entra_group_size: int = 100
    ceiling_users: int = 5_000
    peer_users: int = 2_000
    peer_lookup_sizes: tuple[int, ...] = (2_000, 10_000)
    worker_rows: int = 10_000


class ScimgateRun:
    """Every scenario against scimgate (web, workers, clock) on one fresh database."""

    def __init__(
        self, kind: str, sizes: Sizes, scratch: Path, redis_url: str, postgres_url: str | None
    ) -> None:
        self.kind = kind
        self.sizes = sizes
        self.scratch = scratch
        self.redis_url = redis_url
        self.fresh = FreshDatabase(kind, scratch, postgres_url)
        self.database = Database.from_url(self.fresh.url, pool_size=2)
        self.servers = Servers(self.fresh.url, redis_url, scratch / "logs")
        self.stack: Any = None
        self.figures: dict[str, Any] = {"database": kind}

    def run(self, only: set[int]) -> dict[str, Any]:
        try:
            self.figures["database_version"] = self._database_version()
            self.stack = self.servers.scimgate(WORKER_PROCESSES, WORKER_THREADS)
            okta = self._tenant("okta", "example.com")
            if only & {1, 2, 3}:
                ids = self.scenario_1(okta)
                self.figures["memory_after_scenario_1"] = self._memory()
                if 2 in only:
                    self.scenario_2(okta, ids)
                if 3 in only:
                    self.scenario_3(okta)
            if only & {4, 5}:
                lookup = self._tenant("lookup", "example.org")
                seeded = self.scenario_4(lookup) if 4 in only else []
                if 5 in only:
                    self.scenario_5(lookup, seeded)
            if 6 in only:
                self.scenario_6(self._tenant("entra", "example.net"))
            self.figures["memory_at_end"] = self._memory()
            self.servers.stop()
            self.figures["one_worker_process"] = self.worker_rows_per_second()
            return self.figures
        finally:
            self.servers.stop()
            self.database.dispose()
            self.fresh.drop()

    # -- the scenarios -------------------------------------------------------------------

    def scenario_1(self, tenant: Tenant) -> dict[str, str]:
        """Okta's initial push: a filtered GET, then a POST, for every user."""
        plan = self._plan(tenant, "create_users", emails=emails(self.sizes.users))
        figures, result = self._burst(tenant, plan)
        figures["users_created"] = result["created"].__len__()
        self.figures["scenario_1"] = figures
        return result["created"]

    def scenario_2(self, tenant: Tenant, ids: dict[str, str]) -> None:
        """Reapply Mappings: GET then an unchanged PUT for every user; then 10% changed."""
        every = max(1, round(1 / self.sizes.changed_fraction)) if self.sizes.changed_fraction else 0
        unchanged = [[email, user_id, False] for email, user_id in ids.items()]
        changed = [
            [email, user_id, bool(every) and position % every == 0]
            for position, (email, user_id) in enumerate(ids.items())
        ]
        self.figures["scenario_2_unchanged"], _ = self._burst(
            tenant, self._plan(tenant, "reapply_users", items=unchanged)
        )
        figures, _ = self._burst(tenant, self._plan(tenant, "reapply_users", items=changed))
        figures["users_changed"] = sum(1 for item in changed if item[2])
        self.figures["scenario_2_changed"] = figures

    def scenario_3(self, tenant: Tenant) -> None:
        """Okta's import: page through every user with count=100, one page at a time."""
        self.figures["scenario_3"] = import_walks(
            self._plan(
                tenant,
                "import_users",
                concurrency=1,
                count=self.sizes.page_size,
                max_pages=self.sizes.users // self.sizes.page_size + 10,
            ),
            self.sizes.import_walks,
            self.scratch,
        )

    def scenario_4(self, tenant: Tenant) -> list[str]:
        """`userName eq` lookups at each directory size, the directory seeded in bulk."""
        figures: dict[str, Any] = {}
        seeded: list[str] = []
        for size in sorted(self.sizes.lookup_sizes):
            addresses = emails(size - len(seeded), "example.org", start=len(seeded))
            seeded += seed_users(self.database, tenant.id, addresses)
            self._analyze()
            figures[str(size)] = lookups(
                self._plan(tenant, "lookup_users"), size, self.sizes, "example.org", self.scratch
            )
        self.figures["scenario_4"] = figures
        return seeded

    def scenario_5(self, tenant: Tenant, seeded: list[str]) -> None:
        """Add and remove one member, in a group of 10 and in one of 50,000 members."""
        rounds, warm_up = self.sizes.membership_rounds, self.sizes.membership_warm_up
        needed = max(self.sizes.group_sizes) + warm_up + rounds
        if len(seeded) < needed:
            addresses = emails(needed - len(seeded), "example.org", start=len(seeded))
            seeded = seeded + seed_users(self.database, tenant.id, addresses)
        movers = seeded[len(seeded) - rounds - warm_up :]
        figures: dict[str, Any] = {}
        for size in self.sizes.group_sizes:
            name = f"Members {size}"
            plan = self._plan(
                tenant,
                "create_groups",
                concurrency=1,
                chunk=self.sizes.group_seed_chunk,
                groups=[{"name": name, "member_ids": seeded[:size]}],
            )
            seeding = run_load(plan, self.scratch)
            seed_figures = traffic_figures(seeding)
            group_id = seeding["created"].get(name)
            if group_id is None:
                figures[str(size)] = {
                    "error": "the group could not be created",
                    "seeding": seed_figures,
                }
                continue
            converged = wait_converged(self.database, timeout=600)
            result = run_load(
                self._plan(
                    tenant, "patch_members", concurrency=1, group_id=group_id, user_ids=movers
                ),
                self.scratch,
            )
            # One connection sends the rounds in order, an add and a remove each.
            timed = sorted(result["requests"])[2 * warm_up :]
            changes = traffic_figures({**result, "requests": timed})
            figures[str(size)] = {
                "seeding_seconds": seed_figures.get("seconds"),
                "seeding_errors": seed_figures.get("errors"),
                "seeded_converged_seconds": None
                if converged is None
                else round(converged - seed_figures["last_response_at"], 3),
                "changes": changes,
            }
        self.figures["scenario_5"] = figures

    def scenario_6(self, tenant: Tenant) -> None:
        """Entra ID's initial cycle: every user created, then every group created and filled."""
        count = self.sizes.entra_groups * self.sizes.entra_group_size
        jobs_before = reconcile_jobs_sent(self.redis_url)
        events_before = self._events(tenant)
        sampler = Sampler(self.database)
        sampler.start()
        users = run_load(
            self._plan(tenant, "create_users", idp="entra", emails=emails(count, "example.net")),
            self.scratch,
        )
        ids = [
            users["created"][email]
            for email in emails(count, "example.net")
            if email in users["created"]
        ]
        size = self.sizes.entra_group_size
        groups = [
            {
                "name": f"Entra group {index:03d}",
                "member_ids": ids[index * size : (index + 1) * size],
            }
            for index in range(self.sizes.entra_groups)
        ]
        grouped = run_load(
            self._plan(tenant, "create_groups", idp="entra", chunk=size, groups=groups),
            self.scratch,
        )
        combined = {
            "requests": users["requests"] + grouped["requests"],
            "cpu_seconds": users["cpu_seconds"] + grouped["cpu_seconds"],
            "wall_seconds": users["wall_seconds"] + grouped["wall_seconds"],
        }
        figures = self._converge(tenant, combined, sampler, jobs_before, events_before)
        figures["users_phase"] = _brief(traffic_figures(users))
        figures["groups_phase"] = _brief(traffic_figures(grouped))
        figures["groups_created"] = len(grouped["created"])
        self.figures["scenario_6"] = figures

    def worker_rows_per_second(self) -> dict[str, Any]:
        """One process applying freshly written rows, as one worker's reconcile job does."""
        tenant = self._tenant("rows", "example.edu")
        seed_users(
            self.database, tenant.id, emails(self.sizes.worker_rows, "example.edu"), dirty=True
        )
        started = time.perf_counter()
        result = reconcile_organization(self.database, tenant.id)
        elapsed = time.perf_counter() - started
        return {
            "rows": result.rows_applied,
            "batches": result.batches,
            "events": result.events_appended,
            "seconds": round(elapsed, 3),
            "rows_per_second": round(result.rows_applied / elapsed),
        }

    # -- helpers ------------------------------------------------------------------------

    def _tenant(self, slug: str, domain: str) -> Tenant:
        organization_id, token = create_tenant(self.database, slug, domain)
        return Tenant(organization_id, f"{self.stack.base}/scim/v2/{slug}", token)

    def _plan(self, tenant: Tenant, kind: str, **fields: Any) -> dict[str, Any]:
        return {
            "kind": kind,
            "base_url": tenant.base_url,
            "token": tenant.token,
            "concurrency": self.sizes.concurrency,
            **fields,
        }

    def _burst(self, tenant: Tenant, plan: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        jobs_before = reconcile_jobs_sent(self.redis_url)
        events_before = self._events(tenant)
        sampler = Sampler(self.database)
        sampler.start()
        result = run_load(plan, self.scratch)
        return self._converge(tenant, result, sampler, jobs_before, events_before), result

    def _converge(
        self,
        tenant: Tenant,
        result: dict[str, Any],
        sampler: Sampler,
        jobs_before: int,
        events_before: int,
    ) -> dict[str, Any]:
        """Wait for the roster, then the burst's figures: traffic, jobs, convergence, timeline."""
        figures = traffic_figures(result)
        timeout = max(60.0, figures["requests"] / 200)
        converged = wait_converged(self.database, timeout)
        # A few samples past convergence show the tail on the chart.
        time.sleep(0.3)
        samples = sampler.stop()
        last_response = figures["last_response_at"]
        if converged is not None:
            # The first 100 ms sample at zero after the last response, if it came earlier
            # than the poll that followed the load generator's exit.
            zeros = [at for at, count in samples if at >= last_response and count == 0]
            converged = min([converged, *zeros])
        figures["jobs_enqueued"] = reconcile_jobs_sent(self.redis_url) - jobs_before
        figures["roster_events"] = self._events(tenant) - events_before
        figures["seconds_to_converge"] = (
            None if converged is None else round(max(0.0, converged - last_response), 3)
        )
        figures["roster_mismatches"] = self._roster_mismatches(tenant)
        figures["peak_pending"] = max((count for _, count in samples), default=0)
        figures["timeline"] = timeline(result, samples, figures["first_request_at"])
        return figures

    def _events(self, tenant: Tenant) -> int:
        with self.database.reading() as session:
            return (
                session.scalar(select(func.count()).where(Event.organization_id == tenant.id)) or 0
            )

    def _roster_mismatches(self, tenant: Tenant) -> int:
        """Live directory users whose member is missing or has another status."""
        wanted_status = case((DirectoryUser.active.is_(True), "active"), else_="deactivated")
        matching_member = exists().where(
            Account.email == func.lower(DirectoryUser.user_name),
            Member.account_id == Account.id,
            Member.organization_id == DirectoryUser.organization_id,
            Member.status == wanted_status,
        )
        with self.database.reading() as session:
            return (
                session.scalar(
                    select(func.count()).where(
                        and_(
                            DirectoryUser.organization_id == tenant.id,
                            DirectoryUser.deleted_at.is_(None),
                            ~matching_member,
                        )
                    )
                )
                or 0
            )

    def _memory(self) -> dict[str, float | None]:
        return {
            "web_worker_peak_rss_mb": peak_rss_mb(pid_of(self.stack, "web")),
            "dramatiq_worker_peak_rss_mb": peak_rss_mb(pid_of(self.stack, "worker")),
        }

    def _analyze(self) -> None:
        """Refresh the planner's statistics after a bulk seed, as autovacuum soon would."""
        if self.database.is_postgresql:
            with self.database.engine.connect() as connection:
                connection.execute(text("ANALYZE"))
                connection.commit()

    def _database_version(self) -> str:
        query = "SELECT version()" if self.database.is_postgresql else "SELECT sqlite_version()"
        with self.database.engine.connect() as connection:
            return str(connection.execute(text(query)).scalar())


@dataclass(frozen=True)
class Tenant:
    id: int
    base_url: str
    token: str


def import_walks(plan: dict[str, Any], walks: int, scratch: Path) -> dict[str, Any]:
    """Walk every page `walks` times; the median walk's total time and its page latencies."""
    runs = []
    for _ in range(max(1, walks)):
        result = run_load(plan, scratch)
        runs.append((traffic_figures(result), int(result["created"].get("users_seen", 0))))
    runs.sort(key=lambda run: run[0]["seconds"])
    figures, seen = runs[len(runs) // 2]
    return {
        **_brief(figures),
        "walk_seconds": figures["seconds"],
        "walk_seconds_each": [run[0]["seconds"] for run in runs],
        "pages": figures["requests"],
        "users_seen": seen,
    }


def lookups(
    plan: dict[str, Any], size: int, sizes: Sizes, domain: str, scratch: Path
) -> dict[str, Any]:
    """`sizes.lookups` lookups of users picked at random among the first `size`."""
    chooser = random.Random(size)
    picks = [chooser.randrange(size) for _ in range(sizes.lookups)]
    addresses = [f"user{index:06d}@{domain}" for index in picks]
    return _brief(traffic_figures(run_load({**plan, "emails": addresses}, scratch)))


def _brief(figures: dict[str, Any]) -> dict[str, Any]:
    """Traffic figures without the raw timestamps, for nesting inside a scenario."""
    return {
        key: value
        for key, value in figures.items()
        if key not in ("first_request_at", "last_response_at")
    }


class BaselineRun:
    """The no-op ceiling and the scim2-server peer, on the same gunicorn configuration."""

    def __init__(self, sizes: Sizes, scratch: Path, redis_url: str) -> None:
        self.sizes = sizes
        self.scratch = scratch
        # The baselines touch neither; the stack's environment only needs them named.
        self.servers = Servers(f"sqlite:///{scratch / 'unused.db'}", redis_url, scratch / "logs")

    def ceiling(self) -> dict[str, Any]:
        """The no-op Falcon app under scenario 1's and scenario 2's request shapes."""
        try:
            stack = self.servers.app("noop", "bench.noop:app")
            base = f"{stack.base}/scim/v2/noop"
            addresses = emails(self.sizes.ceiling_users)
            plan = {"base_url": base, "token": "unused", "concurrency": self.sizes.concurrency}
            create = run_load({**plan, "kind": "create_users", "emails": addresses}, self.scratch)
            items = [[email, f"id-{index}", False] for index, email in enumerate(addresses)]
            reapply = run_load({**plan, "kind": "reapply_users", "items": items}, self.scratch)
            return {
                "create_shape": _brief(traffic_figures(create)),
                "reapply_shape": _brief(traffic_figures(reapply)),
                "web_worker_peak_rss_mb": peak_rss_mb(pid_of(stack, "noop")),
            }
        finally:
            self.servers.stop()

    def peer(self) -> dict[str, Any]:
        """scim2-server on scenarios 1 to 4 (one gunicorn worker: its storage is in memory)."""
        try:
            import scim2_server  # noqa: F401
        except ImportError:
            return {"skipped": "scim2-server is not installed (pip install -e '.[bench]')"}
        figures: dict[str, Any] = {}
        token = "bench-peer-token"  # noqa: S105 (a throwaway server's static token)
        try:
            stack = self.servers.app("peer", "bench.peer:app", workers=1, BENCH_PEER_TOKEN=token)
            plan = {
                "base_url": f"{stack.base}/v2",
                "token": token,
                "concurrency": self.sizes.concurrency,
            }
            addresses = emails(self.sizes.peer_users)
            created = run_load({**plan, "kind": "create_users", "emails": addresses}, self.scratch)
            figures["scenario_1"] = _brief(traffic_figures(created))
            items = [[email, user_id, False] for email, user_id in created["created"].items()]
            reapply = run_load({**plan, "kind": "reapply_users", "items": items}, self.scratch)
            figures["scenario_2_unchanged"] = _brief(traffic_figures(reapply))
            figures["scenario_3"] = import_walks(
                {
                    **plan,
                    "kind": "import_users",
                    "concurrency": 1,
                    "count": self.sizes.page_size,
                    "max_pages": self.sizes.peer_users // self.sizes.page_size + 10,
                },
                self.sizes.import_walks,
                self.scratch,
            )
            figures["scenario_4"] = {}
            lookup_plan = {**plan, "kind": "lookup_users"}
            for size in sorted(self.sizes.peer_lookup_sizes):
                if size != self.sizes.peer_users:
                    self.servers.stop()
                    stack = self.servers.app(
                        "peer",
                        "bench.peer:app",
                        workers=1,
                        BENCH_PEER_TOKEN=token,
                        BENCH_PEER_SEED=str(size),
                    )
                    lookup_plan["base_url"] = f"{stack.base}/v2"
                figures["scenario_4"][str(size)] = lookups(
                    lookup_plan, size, self.sizes, "example.com", self.scratch
                )
            figures["web_worker_peak_rss_mb"] = peak_rss_mb(pid_of(stack, "peer"))
            return figures
        finally:
            self.servers.stop()


def membership_summary(figures: dict[str, Any]) -> dict[str, Any]:
    """p99 of one member's change (add and remove together) per group size."""
    summary = {}
    for size, entry in figures.items():
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if changes and changes.get("requests"):
            summary[size] = {"p99_ms": changes["p99_ms"], "p50_ms": changes["p50_ms"]}
    return summary


__all__ = ["BaselineRun", "ScimgateRun", "Sizes", "dirty_rows", "latency_figures"]
