"""Rate limits, readiness, request ids and log lines, through the app with real Redis."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import falcon
import falcon.testing
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from prometheus_client import generate_latest

from api.app import Services, create_app, redis_client
from api.dev import free_port
from api.observability import metrics_registry, scim_operation, scim_outcome
from api.ratelimit import RATE_LIMIT_BYPASSED, Decision, TokenBucket
from models.core.config import Settings
from models.core.db import Database
from models.core.logs import JsonFormatter, bind_log_context, clear_log_context
from tests.support.scim import OrganizationFixture, ScimClient, okta_user


@pytest.fixture
def limited_settings(settings: Settings) -> Settings:
    return replace(settings, rate_limit_per_second=2.0, rate_limit_burst=3)


@pytest.fixture
def limited_app(app_with: Callable[..., falcon.App]) -> falcon.App:
    # Through `app_with`, whose audit writer stops with the test: one left running would
    # still be writing when the next test empties the tables, and PostgreSQL may deadlock.
    return app_with(rate_limit_per_second=2.0, rate_limit_burst=3)


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every log line, formatted as production formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous_level)


def dead_redis() -> redis.Redis:
    """The app's own client, for a port nothing listens on: Redis is down."""
    return redis_client(f"redis://127.0.0.1:{free_port()}/0")


class TestRateLimit:
    def test_an_organization_past_its_burst_gets_429_with_retry_after_and_a_scim_error(
        self, limited_app: falcon.App, tenant: OrganizationFixture, database: Database
    ):
        acme = ScimClient(limited_app, tenant.slug, tenant.token)
        other = OrganizationFixture.create(database, "globex", ["globex.com"])
        globex = ScimClient(limited_app, other.slug, other.token)

        statuses = [acme.get("/Users").status_code for _ in range(3)]
        refused = acme.get("/Users")

        assert statuses == [200, 200, 200]
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert refused.json["status"] == "429"
        assert "acme" in refused.json["detail"]
        # Another organization's bucket is its own.
        assert globex.get("/Users").status_code == 200

    def test_the_bucket_refills_at_the_configured_rate(
        self, limited_app: falcon.App, tenant: OrganizationFixture
    ):
        acme = ScimClient(limited_app, tenant.slug, tenant.token)
        for _ in range(3):
            acme.get("/Users")
        assert acme.get("/Users").status_code == 429

        time.sleep(0.6)  # two per second: one token back after 0.5 s

        assert acme.get("/Users").status_code == 200
        assert acme.get("/Users").status_code == 429

    def test_a_wrong_token_spends_nothing_of_the_organization_s_bucket(
        self, limited_app: falcon.App, tenant: OrganizationFixture
    ):
        acme = ScimClient(limited_app, tenant.slug, tenant.token)
        for _ in range(10):
            assert acme.get("/Users", token="scimgate_wrong").status_code == 401
        assert acme.get("/Users").status_code == 200

    def test_when_redis_is_down_the_limiter_lets_requests_through_and_warns(
        self,
        limited_settings: Settings,
        database: Database,
        tenant: OrganizationFixture,
        caplog: pytest.LogCaptureFixture,
    ):
        services = Services(database, on_directory_change=lambda _id: None, redis=dead_redis())
        app = create_app(limited_settings, services)
        acme = ScimClient(app, tenant.slug, tenant.token)
        bypassed_before = RATE_LIMIT_BYPASSED._value.get()

        with caplog.at_level(logging.WARNING, logger="api.ratelimit"):
            started = time.monotonic()
            statuses = [acme.get("/Users").status_code for _ in range(10)]
            elapsed = time.monotonic() - started

        assert statuses == [200] * 10
        assert RATE_LIMIT_BYPASSED._value.get() - bypassed_before == 10
        warnings = [r for r in caplog.records if "cannot reach Redis" in r.getMessage()]
        assert len(warnings) == 1
        # Only the first request waited for Redis; the rest skipped it.
        assert elapsed < 2.0


class TestTokenBucket:
    def test_concurrent_takers_never_get_more_than_burst_plus_refill(self, broker: RedisBroker):
        bucket = TokenBucket(broker.client, per_second=1.0, burst=20)
        allowed: list[bool] = []
        lock = threading.Lock()

        def take_many() -> None:
            for _ in range(25):
                decision = bucket.take("concurrency")
                with lock:
                    allowed.append(decision.allowed)

        started = time.monotonic()
        threads = [threading.Thread(target=take_many) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        elapsed = time.monotonic() - started

        assert len(allowed) == 200
        assert 20 <= sum(allowed) <= 20 + int(elapsed * 1.0) + 1

    def test_a_refused_take_says_how_long_until_the_next_token(self, broker: RedisBroker):
        bucket = TokenBucket(broker.client, per_second=4.0, burst=1)
        assert bucket.take("retry-after").allowed
        refused = bucket.take("retry-after")
        assert not refused.allowed
        assert 0.1 < refused.retry_after_seconds <= 0.25

    def test_a_guarded_take_takes_only_while_the_guard_holds(self, broker: RedisBroker):
        bucket = TokenBucket(broker.client, per_second=0.001, burst=2)
        broker.client.set("guard", "one")

        assert bucket.take_if("guarded", "guard", "one") == Decision(True, 0.0, 1)
        assert bucket.take_if("guarded", "guard", "two") is None
        assert bucket.take_if("guarded", "missing-key", "one") is None
        # The refused calls took nothing: one token is still there.
        assert bucket.take("guarded").allowed
        assert not bucket.take("guarded").allowed

    def test_nonsense_limits_are_refused(self, broker: RedisBroker):
        with pytest.raises(ValueError, match="positive rate"):
            TokenBucket(broker.client, per_second=0, burst=10)


class TestReadiness:
    def test_ready_when_the_database_and_redis_answer(self, app: falcon.App):
        result = falcon.testing.TestClient(app).simulate_get("/readyz")
        assert result.status_code == 200
        assert result.json == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}

    def test_503_naming_redis_when_it_does_not_answer(self, settings: Settings, database: Database):
        services = Services(database, on_directory_change=lambda _id: None, redis=dead_redis())
        result = falcon.testing.TestClient(create_app(settings, services)).simulate_get("/readyz")
        assert result.status_code == 503
        assert result.json["status"] == "unavailable"
        assert result.json["checks"]["database"] == "ok"
        assert result.json["checks"]["redis"].startswith("unreachable (")

    def test_503_naming_the_database_when_it_does_not_answer(
        self, settings: Settings, broker: RedisBroker, tmp_path: Path
    ):
        gone = Database.from_url(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/gone")
        services = Services(gone, on_directory_change=lambda _id: None, redis=broker.client)
        client = falcon.testing.TestClient(create_app(settings, services))

        ready = client.simulate_get("/readyz")
        metrics = generate_latest(metrics_registry(gone, broker.client, str(tmp_path))).decode()

        assert ready.status_code == 503
        assert ready.json["checks"] == {
            "database": "unreachable (OperationalError)",
            "redis": "ok",
        }
        assert "nobody" not in ready.text
        # The scrape still answers, and says the database could not be read.
        assert 'scimgate_dependency_up{dependency="database"} 0.0' in metrics
        assert "scimgate_queue_messages" in metrics
        assert client.simulate_get("/healthz").status_code == 200

    def test_metrics_are_not_served_beside_the_api(self, app: falcon.App):
        # They have a listener of their own (api/metrics_listener.py).
        assert falcon.testing.TestClient(app).simulate_get("/metrics").status_code == 404


class TestScimOperationLabels:
    @pytest.mark.parametrize(
        ("method", "route", "expected"),
        [
            ("GET", "/scim/v2/{organization}/Users", ("Users", "list")),
            ("POST", "/scim/v2/{organization}/Users", ("Users", "create")),
            ("GET", "/scim/v2/{organization}/Users/{user_id}", ("Users", "get")),
            ("PUT", "/scim/v2/{organization}/Users/{user_id}", ("Users", "replace")),
            ("PATCH", "/scim/v2/{organization}/Users/{user_id}", ("Users", "patch")),
            ("DELETE", "/scim/v2/{organization}/Users/{user_id}", ("Users", "delete")),
            ("POST", "/scim/v2/{organization}/Users/.search", ("Users", "search")),
            ("POST", "/scim/v2/{organization}/.search", ("all", "search")),
            ("GET", "/scim/v2/{organization}/Schemas", ("Schemas", "list")),
            ("GET", "/healthz", None),
            ("GET", "unmatched", None),
        ],
    )
    def test_routes_name_a_resource_and_an_operation(self, method, route, expected):
        assert scim_operation(method, route) == expected

    def test_statuses_name_an_outcome(self):
        assert [scim_outcome(s) for s in (200, 201, 204, 304, 409, 418, 429, 500, 503)] == [
            "success",
            "success",
            "success",
            "success",
            "conflict",
            "client_error",
            "rate_limited",
            "error",
            "unavailable",
        ]


class TestRequestLogs:
    def test_every_line_of_a_request_carries_its_id_and_tenant_but_no_secret(
        self, scim: ScimClient, tenant: OrganizationFixture, json_log: io.StringIO
    ):
        response = scim.post(
            "/Users", okta_user("ada@example.com"), headers={"X-Request-Id": "req-1"}
        )
        assert response.status_code == 201
        assert response.headers["X-Request-Id"] == "req-1"

        lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
        access = [line for line in lines if line["logger"] == "scimgate.access"]
        assert len(access) == 1
        assert access[0] == {
            **access[0],
            "level": "info",
            "request_id": "req-1",
            "organization": "acme",
            "token_prefix": tenant.token.removeprefix("scimgate_")[:8],
            "method": "POST",
            "route": "/scim/v2/{organization}/Users",
            "status": 201,
        }
        assert tenant.token not in json_log.getvalue()
        assert "ada@example.com" not in json_log.getvalue()

    def test_an_insane_request_id_is_replaced(self, scim: ScimClient):
        for forged in ("a" * 200, "two words", "line\\nbreak", ""):
            response = scim.get("/Users", headers={"X-Request-Id": forged})
            assert response.headers["X-Request-Id"] != forged
            assert len(response.headers["X-Request-Id"]) == 32

    def test_secrets_in_a_message_or_traceback_are_masked(self, json_log: io.StringIO):
        secret = "scimgate_" + "s3cr3t" * 8
        clear_log_context()
        bind_log_context(request_id="r")
        try:
            raise RuntimeError(f"bad header Bearer {secret}")
        except RuntimeError:
            logging.getLogger("test").exception("failed with %s and whsec_abcdefghijklmnop", secret)
        clear_log_context()

        line = json.loads(json_log.getvalue().splitlines()[-1])
        assert "s3cr3t" not in json_log.getvalue()
        assert "abcdefghijklmnop" not in json_log.getvalue()
        assert line["message"] == "failed with scimgate_[redacted] and whsec_[redacted]"
        assert line["request_id"] == "r"
        assert "Bearer [redacted]" in line["exception"]
