"""What the web role tells operators: request ids, access logs, metrics and `/readyz`.

Metric labels are bounded on purpose: the route *template* (never the path, which holds
organization slugs and user ids), the method, the status. Per-organization detail belongs
in logs, which carry the slug and token prefix of every authenticated request.

Under gunicorn, `deploy/gunicorn.conf.py` sets PROMETHEUS_MULTIPROC_DIR before any worker
starts, so every worker process writes its counters to a shared directory, and the metrics
listener (`api/metrics_listener.py`, a port of its own) serves their sum with the backlog.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import falcon
import redis
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.exc import SQLAlchemyError

from api.routing import Access
from models.core.db import Database
from models.core.logs import bind_log_context, clear_log_context
from models.operations.health import Backlog, backlog, database_reachable

log = logging.getLogger("scimgate.access")

REQUEST_ID_HEADER = "X-Request-Id"
# A caller's request id is kept if it is short and plain; anything else could forge log lines.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SCIM_PREFIX = "/scim/v2/{organization}/"
# Probes and scrapes arrive every few seconds from every pod; they are logged only at DEBUG.
_QUIET_ROUTES = frozenset({"/healthz", "/readyz"})
UNMATCHED_ROUTE = "unmatched"

HTTP_REQUESTS = Counter(
    "scimgate_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "scimgate_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SCIM_OPERATIONS = Counter(
    "scimgate_scim_operations_total",
    "SCIM operations, by resource type, operation and outcome.",
    ["resource", "operation", "outcome"],
)

_OUTCOMES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}


def scim_outcome(status: int) -> str:
    if status < 400:
        return "success"
    return _OUTCOMES.get(status, "client_error" if status < 500 else "error")


def scim_operation(method: str, route: str) -> tuple[str, str] | None:
    """(resource, operation) for a SCIM route template, or None for any other route."""
    if not route.startswith(SCIM_PREFIX):
        return None
    resource, _, rest = route[len(SCIM_PREFIX) :].partition("/")
    # POST .search is a query, at the base URL (across resource types) or under one type.
    if resource == ".search":
        return "all", "search"
    if rest == ".search":
        return resource, "search"
    item = bool(rest)
    operation = {
        ("GET", False): "list",
        ("GET", True): "get",
        ("POST", False): "create",
        ("PUT", True): "replace",
        ("PATCH", True): "patch",
        ("DELETE", True): "delete",
    }.get((method, item), method.lower())
    return resource, operation


def accepted_request_id(header: str | None) -> str:
    """The caller's X-Request-Id when it is sane, else a new one."""
    if header and _SANE_REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


class RequestObservability:
    """First in, last out: a request id for every request, then one access line and metrics.

    The organization slug and token prefix join the log context once authentication has
    fixed them (see `ScimAuthentication`), so every line of a SCIM request carries them.
    """

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()
        request_id = accepted_request_id(req.get_header(REQUEST_ID_HEADER))
        req.context.request_id = request_id
        resp.set_header(REQUEST_ID_HEADER, request_id)
        # Threads are reused across requests: start from an empty context, never a stale one.
        clear_log_context()
        bind_log_context(request_id=request_id)

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        started = getattr(req.context, "started", None)
        duration = time.perf_counter() - started if started is not None else 0.0
        route = req.uri_template or UNMATCHED_ROUTE
        method = req.method if req.method in _KNOWN_METHODS else "OTHER"
        status = resp.status_code
        HTTP_REQUESTS.labels(route, method, str(status)).inc()
        HTTP_DURATION.labels(route, method).observe(duration)
        operation = scim_operation(method, route)
        if operation is not None:
            SCIM_OPERATIONS.labels(*operation, scim_outcome(status)).inc()
        log.log(
            logging.DEBUG if route in _QUIET_ROUTES else logging.INFO,
            "%s %s %s %.1fms",
            method,
            route,
            status,
            duration * 1000,
            extra={
                "method": method,
                "route": route,
                "path": req.path,
                "status": status,
                "duration_ms": round(duration * 1000, 2),
            },
        )
        clear_log_context()


class BacklogCollector:
    """Gauges read at scrape time: work waiting in the database and in Redis.

    Read live rather than kept in process memory, so every web process reports the same
    truth and a restarted one reports it at once. A dependency that cannot be read is
    reported as `scimgate_dependency_up 0` instead of failing the whole scrape.
    """

    def __init__(self, database: Database, client: redis.Redis | None) -> None:
        self._database = database
        self._client = client

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "scimgate_dependency_up",
            "Whether the last scrape could read the dependency (1) or not (0).",
            labels=["dependency"],
        )
        try:
            with self._database.reading() as session:
                waiting = backlog(session)
        except SQLAlchemyError as error:
            log.warning("metrics: database unreadable: %s", type(error).__name__)
            up.add_metric(["database"], 0)
        else:
            up.add_metric(["database"], 1)
            yield from _backlog_gauges(waiting)
        if self._client is not None:
            try:
                queue_metrics = list(_queue_metrics(self._client))
            except (redis.RedisError, OSError) as error:
                log.warning("metrics: Redis unreadable: %s", type(error).__name__)
                up.add_metric(["redis"], 0)
            else:
                up.add_metric(["redis"], 1)
                yield from queue_metrics
        yield up


def _backlog_gauges(waiting: Backlog) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "scimgate_directory_pending_changes",
        "Directory rows the roster has not caught up with yet (dirty rows).",
        value=waiting.pending_changes,
    )
    yield GaugeMetricFamily(
        "scimgate_directory_oldest_pending_seconds",
        "Age of the oldest directory change the roster has not applied; 0 when none waits.",
        value=waiting.oldest_pending_seconds,
    )
    yield GaugeMetricFamily(
        "scimgate_webhook_undelivered_events",
        "Events not yet acknowledged by a webhook endpoint, summed over endpoints.",
        value=waiting.undelivered_events,
    )
    yield GaugeMetricFamily(
        "scimgate_webhook_failing_endpoints",
        "Webhook endpoints whose last delivery failed.",
        value=waiting.failing_webhook_endpoints,
    )


def _queue_metrics(client: redis.Redis) -> Iterator[Metric]:
    from workers.metrics import clock_ticks, queue_depths

    gauge = GaugeMetricFamily(
        "scimgate_queue_messages",
        "Messages in the job queues: ready to run, delayed, or dead-lettered.",
        labels=["queue", "state"],
    )
    for (queue, state), count in queue_depths(client).items():
        gauge.add_metric([queue, state], count)
    yield gauge
    # A clock that stops claiming ticks stops the sweep: this counter stalls when it does.
    ticks = CounterMetricFamily(
        "scimgate_clock_ticks",
        "Clock ticks claimed, by job, across every clock process.",
        labels=["job"],
    )
    for job, count in clock_ticks(client).items():
        ticks.add_metric([job], count)
    yield ticks


def metrics_registry(
    database: Database, client: redis.Redis | None, directory: str
) -> CollectorRegistry:
    """Every web process's counters (the files in `directory`) and the backlog, read live."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    registry.register(BacklogCollector(database, client))
    return registry


class ReadinessResource:
    """`/readyz`: 200 when the database and Redis both answer, else 503 saying which did not."""

    def __init__(self, database: Database, client: redis.Redis | None) -> None:
        self._database = database
        self._client = client

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        checks = {
            "database": _check(lambda: database_reachable(self._database)),
            "redis": _check(self._ping) if self._client is not None else "not configured",
        }
        ready = all(result == "ok" for result in checks.values())
        resp.status = falcon.HTTP_200 if ready else falcon.HTTP_503
        resp.content_type = falcon.MEDIA_JSON
        resp.media = {"status": "ready" if ready else "unavailable", "checks": checks}

    def _ping(self) -> None:
        assert self._client is not None
        self._client.ping()


def _check(probe: Any) -> str:
    try:
        probe()
    except (SQLAlchemyError, redis.RedisError, OSError) as error:
        # The class name says enough; messages can hold hosts and user names.
        return f"unreachable ({type(error).__name__})"
    return "ok"


def install_operations_routes(
    app: falcon.App, database: Database, client: redis.Redis | None
) -> None:
    app.add_route("/readyz", ReadinessResource(database, client), access=Access.PUBLIC)
