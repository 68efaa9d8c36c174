"""SIGTERM in the middle of a burst: gunicorn and Dramatiq drain, and nothing is lost.

The stop is sent to each role's whole process group, as a platform that signals every
process of a container does (the harder case: Kubernetes and Docker signal only the first
process, which forwards it). No clock runs: convergence afterwards must come from messages
the stopping worker handed back, not from the sweep that would cover for lost ones.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from tests.support.operations import Scrape, enable_organization
from tests.support.processes import Stack, wait_until
from tests.support.scim import SCIM_JSON, okta_user

CLIENTS = 6
MAX_USERS = 2000
STOP_AFTER_RESPONSES = 100


@dataclass
class Outcome:
    email: str
    status: int | None = None
    error: str | None = None


class SlowBody:
    """A chunked request body that pauses after its first chunk until released.

    While it pauses, the request is in gunicorn's hands, half read: the stop must wait for it.
    """

    def __init__(self, payload: bytes) -> None:
        self._payload = payload
        self.started = threading.Event()
        self.release = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        yield self._payload[:10]
        self.started.set()
        self.release.wait(timeout=30)
        yield self._payload[10:]


def test_sigterm_mid_burst_drains_requests_and_jobs_without_loss(postgres_stack: Stack):
    stack = postgres_stack
    # Small batches keep the worker busy through the burst, so the stop finds a
    # job running; the limiter is not what this test is about.
    stack.env["SCIMGATE_RECONCILE_BATCH_SIZE"] = "5"
    stack.env["SCIMGATE_RATE_LIMIT_PER_SECOND"] = "100000"
    base_url, token = enable_organization(stack, "acme", "example.com")
    stack.start_web()
    stack.start_worker(threads=2)
    worker_metrics = stack.metrics_url("worker")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    # A fresh connection per request, as many IdPs do: a kept-alive connection that the
    # server closes while idle is a client-side retry, not what this test is about.
    no_keepalive = httpx.Limits(max_keepalive_connections=0)
    emails = (f"user{index:04d}@example.com" for index in range(MAX_USERS))
    lock = threading.Lock()
    outcomes: list[Outcome] = []
    enough = threading.Event()
    stopped = threading.Event()

    def client_loop() -> None:
        with httpx.Client(headers=headers, timeout=30, limits=no_keepalive) as client:
            while not stopped.wait(0) or len(outcomes) < stop_count + 30:
                with lock:
                    email = next(emails, None)
                if email is None:
                    return
                outcome = Outcome(email)
                try:
                    response = client.post(f"{base_url}/Users", json=okta_user(email))
                    outcome.status = response.status_code
                except httpx.HTTPError as error:
                    outcome.error = type(error).__name__
                with lock:
                    outcomes.append(outcome)
                    if len(outcomes) >= STOP_AFTER_RESPONSES:
                        enough.set()

    slow = SlowBody(json.dumps(okta_user("slow@example.com")).encode())
    slow_result: list[httpx.Response] = []

    def slow_request() -> None:
        with httpx.Client(headers=headers, timeout=60, limits=no_keepalive) as client:
            slow_result.append(client.post(f"{base_url}/Users", content=slow))

    stop_count = MAX_USERS
    try:
        # When SIGTERM reaches the web and worker roles mid-burst, with a request half-read
        # and a reconcile job running
        clients = [threading.Thread(target=client_loop) for _ in range(CLIENTS)]
        for thread in clients:
            thread.start()
        assert enough.wait(timeout=60), "the burst did not get going"
        slow_thread = threading.Thread(target=slow_request)
        slow_thread.start()
        assert slow.started.wait(timeout=10)
        time.sleep(1.0)  # the half-read request is now inside a gunicorn worker thread
        wait_until(
            lambda: _reconcile_running(worker_metrics),
            timeout=30,
            interval=0.05,
            what="a reconcile job to be running",
        )
        with lock:
            stop_count = len(outcomes)
        for role in ("web", "worker"):
            os.killpg(stack.processes[role].pid, signal.SIGTERM)
        stopped.set()
        time.sleep(1.0)
        slow.release.set()
        slow_thread.join(timeout=60)
        for thread in clients:
            thread.join(timeout=60)
        web_exit = stack.processes["web"].wait(timeout=60)
        worker_exit = stack.processes["worker"].wait(timeout=120)

        # Then the half-read request was finished and answered, not dropped
        assert slow_result and slow_result[0].status_code == 201, slow_result
        # ... both roles stopped cleanly: exit 0, no forced kill
        assert web_exit == 0 and worker_exit == 0, (web_exit, worker_exit)
        worker_log = (stack.log_dir / "worker.log").read_text()
        assert "Killing worker process" not in worker_log
        assert "Worker has been shut down" in worker_log
        # ... the running job finished after the stop request, instead of being cut
        after_stop = worker_log[worker_log.index("Stopping worker process") :]
        assert "reconciled organization" in after_stop
        # ... and no request got a 5xx: each was served, or failed at the network level.
        # A connection that reached the listen queue during the drain is reset unread when
        # the last process closes the socket (Kubernetes keeps new ones away with the
        # preStop pause); the retries below get 201, so none of them had been processed.
        statuses = {o.status for o in outcomes if o.status is not None}
        assert statuses == {201}, statuses
        errors = {o.error for o in outcomes if o.error is not None}
        assert errors <= {"ConnectError", "ReadError", "RemoteProtocolError"}, errors
        refused = [o.email for o in outcomes if o.error is not None]
        assert refused, "no request arrived after the stop; the test proved nothing"
        expected = sorted([o.email for o in outcomes] + ["slow@example.com"])

        # When the roles come back (no clock: only handed-back messages can finish the work)
        # and the IdP retries what was refused, as it does on its next cycle
        stack.processes.pop("web")
        stack.processes.pop("worker")
        stack.start_web()
        stack.start_worker()
        with httpx.Client(headers=headers, timeout=30) as client:
            for email in refused:
                retried = client.post(f"{base_url}/Users", json=okta_user(email))
                # 201, not 409: the failed attempt had written nothing.
                assert retried.status_code == 201, retried.text
            listed = client.get(f"{base_url}/Users", params={"count": MAX_USERS}).json()

        # Then the directory holds every user once, and the roster converges to it
        assert sorted(user["userName"] for user in listed["Resources"]) == expected
        wait_until(
            lambda: _status(stack)["pending_changes"] == 0,
            timeout=40,
            what="every directory change to reach the roster",
        )
        roster = stack.roster("acme")
        assert sorted(roster) == expected
        assert {member["status"] for member in roster.values()} == {"active"}
        events = json.loads(stack.cli("events", "acme", "--json", "--limit", "5000").stdout)
        added = [event["data"]["email"] for event in events if event["type"] == "member.added"]
        assert sorted(added) == expected  # each once: none lost, none applied twice
        assert [event["sequence"] for event in events] == list(range(1, len(events) + 1))
        print(
            f"served {len(outcomes) - len(refused)}, failed then retried {len(refused)}: "
            f"{sorted(errors)}"
        )
    except AssertionError:
        print(stack.logs())
        raise
    finally:
        slow.release.set()
        stopped.set()


def _reconcile_running(url: str) -> bool:
    try:
        scrape = Scrape.of(url)
    except httpx.HTTPError:
        return False
    return scrape.value("dramatiq_messages_inprogress", actor_name="roster.reconcile") > 0


def _status(stack: Stack) -> dict:
    return json.loads(stack.cli("status", "acme", "--json").stdout)
