"""What an operator sees of a live deployment: the web and worker metrics, /readyz, logs.

Real gunicorn (two workers, so the multiprocess directory is exercised), `scimgate worker`,
Redis and PostgreSQL (what production runs; these tests are about the processes, and the
in-process tests cover both databases); the Grafana dashboard is checked against the names
these endpoints really serve.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import yaml

from api.dev import free_port
from tests.support.operations import Scrape, enable_organization, scim_client
from tests.support.processes import Stack, listening, wait_until
from tests.support.scim import okta_user

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "scimgate.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
METRIC_NAME = re.compile(r"\b((?:scimgate|dramatiq)_[a-z_]+)\b")
BODY_LIMIT = 65_536
# Found in request bodies only: it must never reach a log line.
SECRET_LOOKING_EMAIL = "body.only.marker@example.com"


def queried_metric_names() -> set[str]:
    """Every metric the Grafana dashboard and the alerting rules ask Prometheus for."""
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    rules = yaml.safe_load(ALERTS.read_text())["groups"][0]["rules"]
    assert exprs and rules, "the dashboard or the alerts query nothing"
    exprs += [rule["expr"] for rule in rules]
    return {name for expr in exprs for name in METRIC_NAME.findall(expr)}


def chunks(payload: bytes, size: int = 1024) -> Iterator[bytes]:
    for start in range(0, len(payload), size):
        yield payload[start : start + size]


def test_metrics_move_with_scim_traffic_and_cover_the_dashboard(postgres_stack: Stack):
    stack = postgres_stack
    # Given an organization whose webhook receiver is down, and the API without workers yet
    base_url, token = enable_organization(stack, "acme", "example.com")
    stack.cli("webhook", "add", "acme", f"http://127.0.0.1:{free_port()}/hooks")
    stack.env["SCIMGATE_MAX_BODY_BYTES"] = str(BODY_LIMIT)
    stack.start_web()
    metrics_url = stack.metrics_url()
    before = Scrape.of(metrics_url)
    idp = scim_client(base_url, token)

    try:
        # When an IdP creates users, makes mistakes, and a stranger knocks
        for index in range(5):
            assert idp.post("/Users", json=okta_user(f"user{index}@example.com")).status_code == 201
        assert idp.post("/Users", json={"userName": 42}).status_code == 400
        assert idp.get("/Users/0e0e0e0e-0000-0000-0000-000000000000").status_code == 404
        stranger = httpx.get(f"{base_url}/Users", headers={"Authorization": "Bearer no"})
        assert stranger.status_code == 401
        marked = okta_user(SECRET_LOOKING_EMAIL)
        assert idp.post("/Users", json=marked).status_code == 201

        # Then the web metrics count them by route template, method, status and outcome
        during = Scrape.of(metrics_url)
        route = "/scim/v2/{organization}/Users"
        created = {"route": route, "method": "POST", "status": "201"}
        assert (
            during.value("scimgate_http_requests_total", **created)
            - before.value("scimgate_http_requests_total", **created)
            == 6
        )
        assert (
            during.value("scimgate_http_request_duration_seconds_count", route=route, method="POST")
            >= 7
        )
        assert (
            during.value(
                "scimgate_scim_operations_total",
                resource="Users",
                operation="create",
                outcome="success",
            )
            == 6
        )
        assert during.value("scimgate_scim_operations_total", outcome="invalid") == 1
        assert during.value("scimgate_scim_operations_total", outcome="not_found") == 1
        assert during.value("scimgate_scim_operations_total", outcome="unauthorized") == 1
        # ... and, with no worker running, the work waiting for one
        assert during.value("scimgate_directory_pending_changes") == 6
        assert during.value("scimgate_directory_oldest_pending_seconds") > 0
        assert during.value("scimgate_queue_messages", queue="roster") >= 1
        assert during.value("scimgate_dependency_up", dependency="database") == 1
        assert during.value("scimgate_dependency_up", dependency="redis") == 1
        # No organization, path or user id ever becomes a label.
        label_values = {value for sample in during.samples for value in sample.labels.values()}
        assert not any("acme" in value or "@" in value for value in label_values), label_values

        # When a worker starts
        stack.start_worker()
        worker_url = stack.metrics_url("worker")

        # Then the backlog drains, and the receiver being down shows as undelivered events
        drained = wait_until(
            lambda: (
                (scrape := Scrape.of(metrics_url)).value("scimgate_directory_pending_changes") == 0
                and scrape.value("scimgate_webhook_failing_endpoints") == 1
                and scrape
            ),
            timeout=30,
            what="the backlog to drain and the failing webhook to show",
        )
        assert drained.value("scimgate_webhook_undelivered_events") == 6
        # ... and the worker exporter serves Dramatiq's own metrics, errors and retries included
        worker = wait_until(
            lambda: _scrape_if_up(worker_url, "dramatiq_message_retries_total"),
            timeout=30,
            what="the worker exporter to report a retried delivery",
        )
        assert worker.value("dramatiq_messages_total", actor_name="roster.reconcile") >= 1
        assert worker.value("dramatiq_message_errors_total", actor_name="webhooks.deliver") >= 1
        assert worker.has("dramatiq_message_duration_milliseconds_bucket")

        # And every metric the dashboard and the alerts query is one these endpoints serve
        missing = queried_metric_names() - (Scrape.of(metrics_url).names | worker.names)
        assert not missing, f"dashboard or alerts query metrics nobody serves: {sorted(missing)}"

        # /readyz says both dependencies answer
        ready = httpx.get(f"{stack.base}/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}
    except AssertionError:
        print(stack.logs())
        raise
    finally:
        idp.close()


def _scrape_if_up(url: str, required: str) -> Scrape | None:
    try:
        scrape = Scrape.of(url)
    except httpx.HTTPError:
        return None
    return scrape if scrape.has(required) else None


def test_request_ids_logs_and_chunked_bodies_through_gunicorn(postgres_stack: Stack):
    stack = postgres_stack
    base_url, token = enable_organization(stack, "acme", "example.com")
    stack.env["SCIMGATE_MAX_BODY_BYTES"] = str(BODY_LIMIT)
    stack.start_web()
    idp = scim_client(base_url, token)
    try:
        # A caller's sane request id comes back; a forged one (a log line in disguise) does not.
        echoed = idp.get("/Users", headers={"X-Request-Id": "okta-7f3a.1"})
        assert echoed.headers["X-Request-Id"] == "okta-7f3a.1"
        forged = idp.get("/Users", headers={"X-Request-Id": 'x" level=error'})
        assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-Id"])
        # Errors carry one too, even when no route matched.
        nowhere = httpx.get(f"{stack.base}/nowhere")
        assert nowhere.status_code == 404
        assert re.fullmatch(r"[0-9a-f]{32}", nowhere.headers["X-Request-Id"])

        # A chunked body (no Content-Length) is read, and still stops at the limit.
        body = json.dumps(okta_user(SECRET_LOOKING_EMAIL)).encode()
        created = idp.post("/Users", content=chunks(body))
        assert created.status_code == 201, created.text
        assert created.json()["userName"] == SECRET_LOOKING_EMAIL
        oversized = json.dumps({**okta_user("big@example.com"), "title": "x" * BODY_LIMIT}).encode()
        refused = idp.post("/Users", content=chunks(oversized))
        assert refused.status_code == 413
        assert refused.json()["status"] == "413"
        declared = idp.post("/Users", content=oversized)
        assert declared.status_code == 413

        # Every web log line is one JSON object; the access line names route, status, tenant.
        stack.stop()
        lines = (stack.log_dir / "web.log").read_text().splitlines()
        entries = [json.loads(line) for line in lines if line.strip()]
        access = [entry for entry in entries if entry["logger"] == "scimgate.access"]
        create = next(entry for entry in access if entry["status"] == 201)
        assert create["method"] == "POST"
        assert create["route"] == "/scim/v2/{organization}/Users"
        assert create["organization"] == "acme"
        assert create["token_prefix"] == token.removeprefix("scimgate_")[:8]
        assert create["duration_ms"] > 0
        assert re.fullmatch(r"[0-9a-f]{32}", create["request_id"])
        assert any(entry.get("request_id") == "okta-7f3a.1" for entry in access)
        # Never the token, never a body.
        text = "\n".join(lines)
        assert token not in text
        assert token.removeprefix("scimgate_")[8:] not in text
        assert SECRET_LOOKING_EMAIL not in text
    except AssertionError:
        print(stack.logs())
        raise
    finally:
        idp.close()


def test_metrics_have_a_listener_of_their_own_that_ends_with_its_master(stack: Stack):
    # Given gunicorn, its metrics listener on a port of its own
    stack.start_web()
    try:
        listener = Scrape.of(stack.metrics_url())
        assert listener.has("scimgate_dependency_up", dependency="database")

        # Then the public port serves no metrics, however the path is spelled
        for path in ("/metrics", "//metrics", "/metrics/"):
            public = httpx.get(f"{stack.base}{path}")
            assert public.status_code == 404, path
            assert "scimgate_" not in public.text

        # When the master is killed without a chance to stop its listener
        master = stack.processes["web"]
        os.kill(master.pid, signal.SIGKILL)
        master.wait(timeout=10)

        # Then the listener notices and exits, freeing its port for the next master
        wait_until(
            lambda: not listening(stack.metrics_ports["web"]),
            timeout=10,
            what="the metrics listener to exit after its master",
        )
    except AssertionError:
        print(stack.logs())
        raise
