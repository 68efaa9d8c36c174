"""The soak: a hostile mix replayed at a real gunicorn for minutes. Does web memory stay flat?

    .venv/bin/python -m bench.soak                    # 5 minutes, each database available
    .venv/bin/python -m bench.soak --minutes 2 --database sqlite

Runs scimgate as the Procfile does (gunicorn on deploy/gunicorn.conf.py with its worker and
thread counts, a Dramatiq worker, the clock, a real redis-server) on a fresh database, with
worker recycling (`max_requests`) switched off: recycling would hide a leak, which is what
this looks for. Several clients, each on its own keep-alive connection, replay in a loop and
in shuffled order:

- every hostile input of tests/support/hostile.py at every route of the app's route table,
  with the credential the route needs (SCIM for one organization, admin for another);
- other spellings of real paths (`//admin/v1/...`, `%2f`, dot segments);
- malformed chunked bodies, on raw connections;
- ordinary IdP traffic on 200 users: lookups, GETs, unchanged PUTs, deactivate/reactivate
  PATCHes, index pages, and searches of 1 to 200 `or`-ed terms (each width a statement of
  its own, which is what an unbounded statement cache would keep).

Every 5 s it reads the resident set (VmRSS) of every process under the gunicorn master (its
workers and the metrics listener) from /proc. It reports the total at the start, after the
first minute and at the end, and the target: end ≤ 1.2 times the first minute's. Any 5xx is
counted and named, and so is any request left without an answer. Results go to
bench/results/soak-<stamp>-<database>.json and soak.md.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from api.routing import Access, declared_routes
from bench.deploy import UNTHROTTLED, FreshDatabase, children, memory_mb
from bench.load import emails
from bench.report import machine
from models.core.config import Settings
from models.core.db import Database
from tests.support.admin import operator_token
from tests.support.hostile import hostile_cases
from tests.support.processes import Stack
from tests.support.routes import concrete_path, spellings
from tests.support.scim import OrganizationFixture, okta_user
from tests.support.services import POSTGRES_ENV, RedisServer

RESULTS = Path(__file__).resolve().parent / "results"
SAMPLE_SECONDS = 5.0
USERS = 200
DOMAIN = "acme.com"
TARGET_GROWTH = 1.2
SCIM_JSON = "application/scim+json"
MALFORMED_CHUNKS = (b"2\r\n{}\r\nzz\r\n", b"ffffffffffffffffff\r\n{}", b"5\r\n{}")


@dataclass(frozen=True)
class Request:
    what: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None
    query: str | None = None
    raw: bytes | None = None  # sent as is on a connection of its own


def hostile_requests(fields: dict[str, str], tokens: dict[Access, str]) -> list[Request]:
    """Every hostile case at every route, as tests/api/test_hostile_input.py walks them."""
    # Imported here: the app's modules set up the Redis broker when imported, and `main`
    # starts Redis first.
    from api.app import create_app

    app = create_app(Settings.from_env())
    requests = []
    for route in sorted(declared_routes(app), key=lambda route: route.access is not Access.SCIM):
        path = concrete_path(route, fields["organization"], fields)
        credential = tokens.get(route.access)
        headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        for spelling in list(spellings(path))[1:]:
            requests.append(Request("another spelling", "GET", spelling, headers))
        for method in sorted(set(route.methods) - {"DELETE"}):
            for what, case in hostile_cases(method):
                typed = {**headers, "Content-Type": case["content_type"]} if "body" in case else {}
                requests.append(
                    Request(
                        what,
                        method,
                        path,
                        typed or headers,
                        case.get("body"),
                        case.get("query_string"),
                    )
                )
    return requests


def idp_requests(base: str, token: str, users: dict[str, str]) -> list[Request]:
    """What Okta and Entra send day to day, on `users` (email: id)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    requests = []
    for email, user_id in users.items():
        lookup = quote(f'userName eq "{email}"')
        requests += [
            Request("lookup", "GET", f"{base}/Users", headers, query=f"filter={lookup}"),
            Request("get", "GET", f"{base}/Users/{user_id}", headers),
            Request(
                "unchanged put",
                "PUT",
                f"{base}/Users/{user_id}",
                headers,
                orjson.dumps(okta_user(email)),
            ),
        ]
        for active in (False, True):
            patch = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": active}}],
            }
            requests.append(
                Request(
                    "patch active", "PATCH", f"{base}/Users/{user_id}", headers, orjson.dumps(patch)
                )
            )
    for start in range(1, len(users), 50):
        requests.append(
            Request("page", "GET", f"{base}/Users", headers, query=f"startIndex={start}&count=50")
        )
    addresses = list(users)
    for terms in range(1, 201):
        expression = " or ".join(f'userName eq "{address}"' for address in addresses[:terms])
        search = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": expression,
        }
        requests.append(
            Request("wide search", "POST", f"{base}/Users/.search", headers, orjson.dumps(search))
        )
    for chunks in MALFORMED_CHUNKS:
        raw = (
            f"POST {base}/Users HTTP/1.1\r\nHost: soak\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: {SCIM_JSON}\r\nTransfer-Encoding: chunked\r\n\r\n"
        ).encode() + chunks
        requests.append(
            Request(f"malformed chunks {chunks!r}", "POST", f"{base}/Users", {}, raw=raw)
        )
    return requests


class Replay:
    """Clients sending the mix in a loop, each in its own shuffled order, until told to stop."""

    def __init__(self, base_url: str, port: int, requests: list[Request], clients: int) -> None:
        self._base_url = base_url
        self._port = port
        self._requests = requests
        self._clients = clients
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.server_errors: Counter[str] = Counter()
        self.unanswered: Counter[str] = Counter()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self._clients):
            thread = threading.Thread(target=self._run, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self, seed: int) -> None:
        order = list(self._requests)
        random.Random(seed).shuffle(order)
        previous = "none"
        with httpx.Client(base_url=self._base_url, timeout=60) as client:
            while not self._stop.is_set():
                for request in order:
                    if self._stop.is_set():
                        return
                    status, why = self._send(client, request)
                    self._record(request, status, f"{why}, after {previous}")
                    if request.raw is None:
                        previous = f"{request.method} {request.what} ({status})"

    def _send(self, client: httpx.Client, request: Request) -> tuple[int, str]:
        """The status, or 0 and why no answer came."""
        if request.raw is not None:
            status = raw_status(self._port, request.raw)
            return status, "closed without a status line"
        url = request.path + (f"?{request.query}" if request.query else "")
        try:
            response = client.request(
                request.method, url, headers=request.headers, content=request.body
            )
        except httpx.HTTPError as error:
            return 0, f"{type(error).__name__}: {error}"
        return response.status_code, ""

    def _record(self, request: Request, status: int, why: str) -> None:
        with self._lock:
            self.statuses[status] += 1
            if status >= 500:
                self.server_errors[f"{request.method} {request.what} -> {status}"] += 1
            elif status == 0:
                self.unanswered[f"{request.method} {request.what}: {why}"] += 1


def raw_status(port: int, payload: bytes) -> int:
    """Send bytes on a new connection; the status of whatever comes back, 0 if nothing."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(payload)
        connection.shutdown(socket.SHUT_WR)
        head = connection.recv(64)
    try:
        return int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def web_rss_mb(master: int) -> dict[int, float]:
    """VmRSS of the gunicorn master and its children (workers, metrics listener), by pid."""
    sizes = {pid: memory_mb(pid, "VmRSS") for pid in [master, *children(master)]}
    return {pid: size for pid, size in sizes.items() if size is not None}


def soak(database_kind: str, minutes: float, clients: int, scratch: Path) -> dict[str, Any]:
    database = FreshDatabase(database_kind, scratch / database_kind, os.environ.get(POSTGRES_ENV))
    stack = Stack(database.url, os.environ["SCIMGATE_REDIS_URL"], scratch / f"{database_kind}-logs")
    stack.env.update(UNTHROTTLED)
    try:
        handle = Database.from_url(database.url, pool_size=1)
        acme = OrganizationFixture.create(handle, "acme", [DOMAIN])
        initech = OrganizationFixture.create(handle, "initech", ["initech.com"])
        operator = operator_token(handle)
        # Recycling workers would hide a leak: off, so growth shows.
        stack.start_web(workers=None, options=("--max-requests", "0"))
        stack.start_worker(processes=1, threads=2)
        stack.start_clock()
        base = "/scim/v2/acme"
        users = create_users(stack.base + base, acme.token, emails(USERS, DOMAIN))
        fields = {
            "organization": "acme",
            "org": "initech",
            "user_id": next(iter(users.values())),
            "group_id": create_group(stack.base + base, acme.token, list(users.values())[:10]),
            "domain": "initech.com",
            "prefix": initech.token[len("scimgate_") :][:8],
            "name": "User",
            "schema_id": "urn:ietf:params:scim:schemas:core:2.0:User",
        }
        tokens = {Access.SCIM: acme.token, Access.OPERATOR: operator}
        mix = hostile_requests(fields, tokens) + idp_requests(base, acme.token, users)
        master = stack.processes["web"].pid
        replay = Replay(stack.base, stack.port, mix, clients)
        samples: list[tuple[float, dict[int, float]]] = []
        started = time.monotonic()
        replay.start()
        while time.monotonic() - started < minutes * 60:
            samples.append((time.monotonic() - started, web_rss_mb(master)))
            time.sleep(SAMPLE_SECONDS)
        samples.append((time.monotonic() - started, web_rss_mb(master)))
        replay.stop()
        elapsed = time.monotonic() - started
    finally:
        stack.stop()
        database.drop()
    return figures(database_kind, samples, replay, elapsed, len(mix))


def create_users(base_url: str, token: str, addresses: list[str]) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    made = {}
    with httpx.Client(headers=headers, timeout=30) as client:
        for address in addresses:
            response = client.post(f"{base_url}/Users", content=orjson.dumps(okta_user(address)))
            response.raise_for_status()
            made[address] = response.json()["id"]
    return made


def create_group(base_url: str, token: str, member_ids: list[str]) -> str:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Engineering",
        "members": [{"value": member_id} for member_id in member_ids],
    }
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    response = httpx.post(f"{base_url}/Groups", content=orjson.dumps(body), headers=headers)
    response.raise_for_status()
    return str(response.json()["id"])


def figures(
    database: str,
    samples: list[tuple[float, dict[int, float]]],
    replay: Replay,
    elapsed: float,
    mix_size: int,
) -> dict[str, Any]:
    def total_at(seconds: float) -> float:
        at = min(samples, key=lambda sample: abs(sample[0] - seconds))
        return round(sum(at[1].values()), 1)

    first_minute = total_at(60.0)
    end = round(sum(samples[-1][1].values()), 1)
    pids = [set(sizes) for _, sizes in samples]
    requests = sum(replay.statuses.values())
    return {
        "database": database,
        "seconds": round(elapsed, 1),
        "requests": requests,
        "requests_per_second": round(requests / elapsed, 1),
        "distinct_requests": mix_size,
        "statuses": {str(status): count for status, count in sorted(replay.statuses.items())},
        "server_errors": dict(replay.server_errors),
        "unanswered": dict(replay.unanswered),
        "web_processes": len(samples[-1][1]),
        "processes_replaced": len(set().union(*pids) - pids[0]),
        "rss_mb_start": round(sum(samples[0][1].values()), 1),
        "rss_mb_after_1_min": first_minute,
        "rss_mb_end": end,
        "rss_mb_largest_process_end": round(max(samples[-1][1].values()), 1),
        "growth_after_1_min": round(end / first_minute, 3),
        "target_met": end <= TARGET_GROWTH * first_minute,
        "timeline": [(round(at, 1), round(sum(sizes.values()), 1)) for at, sizes in samples],
    }


def markdown(runs: list[dict[str, Any]], stamp: str) -> str:
    lines = [
        f"# scimgate soak, {stamp}",
        "",
        "A hostile mix replayed at gunicorn (worker recycling off); web RSS summed over the",
        "gunicorn master, its workers and the metrics listener (see bench/soak.py).",
        "",
        "| database | minutes | requests | req/s | 5xx | no answer | RSS start (MiB) | after 1 min "
        "| end | end / 1 min | target ≤ 1.2 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        errors = sum(run["server_errors"].values())
        lines.append(
            f"| {run['database']} | {run['seconds'] / 60:.1f} | {run['requests']:,} "
            f"| {run['requests_per_second']:.0f} | {errors} | {sum(run['unanswered'].values())} "
            f"| {run['rss_mb_start']} "
            f"| {run['rss_mb_after_1_min']} | {run['rss_mb_end']} "
            f"| {run['growth_after_1_min']:.2f} | {'yes' if run['target_met'] else 'no'} |"
        )
    lines += [
        "",
        "No answer: requests whose connection closed before any status line came back. The",
        "JSON's `unanswered` names each, with why and the request before it on its connection.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--database", nargs="+", choices=("postgresql", "sqlite"))
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.minutes <= 1:
        parser.error("--minutes must be more than 1: the figure compares the end to minute 1")
    kinds = args.database or (
        ["postgresql", "sqlite"] if os.environ.get(POSTGRES_ENV) else ["sqlite"]
    )
    scratch = Path(tempfile.mkdtemp(prefix="scimgate-soak-"))
    redis_server = RedisServer(scratch / "redis")
    redis_server.start()
    os.environ["SCIMGATE_REDIS_URL"] = redis_server.url
    stamp = time.strftime("%Y%m%d-%H%M%S")
    runs = []
    try:
        for kind in kinds:
            run = {**soak(kind, args.minutes, args.clients, scratch), "machine": machine()}
            runs.append(run)
            args.results.mkdir(parents=True, exist_ok=True)
            path = args.results / f"soak-{stamp}-{kind}.json"
            path.write_bytes(orjson.dumps(run, option=orjson.OPT_INDENT_2))
            print(f"{kind}: {path}", flush=True)
    finally:
        redis_server.stop()
    report = markdown(runs, stamp)
    (args.results / "soak.md").write_text(report)
    print(report)
    for run in runs:
        for what, count in run["server_errors"].items():
            print(f"{run['database']}: {count} x {what}")
        for what, count in run["unanswered"].items():
            print(f"{run['database']}: no answer {count} x {what}")
    return 0 if all(run["target_met"] and not run["server_errors"] for run in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
