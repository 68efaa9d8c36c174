"""One typed settings object, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path("var")
DEVELOPMENT_SECRET_KEY = "scimgate-development-secret-do-not-use-in-production"  # noqa: S105
# Directory rows a worker applies per transaction. Each batch also pays for reading the
# organization's waiting rows and members, so a big directory goes faster in fewer, larger
# batches (1,000 applied 10,000 users about 15% faster than 500); a batch holds its rows'
# locks for some 0.2 s.
DEFAULT_RECONCILE_BATCH_SIZE = 1000


def _int(environ: dict[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None


def _float(environ: dict[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


def _choice(environ: dict[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (environ.get(name) or default).lower()
    if raw not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    """Everything an operator can set; every field has a safe default for development."""

    database_url: str = f"sqlite:///{DEFAULT_DATA_DIR / 'scimgate.db'}"
    # None means "start an embedded redis-server" in `scimgate dev`; elsewhere it is required.
    redis_url: str | None = None
    public_url: str | None = None
    port: int = 8000
    # gunicorn threads per web worker; the database pool is sized to match.
    web_threads: int = 8
    # Seconds a reconcile job waits after the first write of a burst, so the burst coalesces.
    reconcile_debounce_ms: int = 250
    reconcile_batch_size: int = DEFAULT_RECONCILE_BATCH_SIZE
    # Requests bodies past this are refused with 413 before they are read.
    max_body_bytes: int = 1_048_576
    max_page_size: int = 1000
    # The most operations one /Bulk request may carry (its size is bounded by max_body_bytes).
    bulk_max_operations: int = 1000
    # How long a webhook receiver may take to acknowledge one batch before it counts as failed.
    webhook_timeout_seconds: int = 10
    # Signs pagination cursors. Set it in production (any long random string), the same on
    # every web process; the default is for development only.
    secret_key: str = DEVELOPMENT_SECRET_KEY
    # Seconds a cursor stays valid between two page requests (advertised as cursorTimeout).
    cursor_timeout_seconds: int = 3600
    # "host:port" of the DNS resolver domain verification asks; None means the system's.
    dns_resolver: str | None = None
    dns_timeout_seconds: float = 5.0
    # Audit records older than this many days are purged daily by the clock.
    audit_retention_days: int = 90
    # Per-organization token bucket: sustained requests per second, and the burst on top.
    # Okta and Entra full syncs stay well under 100/s per tenant (Entra's gallery bar is 25/s).
    rate_limit_per_second: float = 100.0
    rate_limit_burst: int = 200
    # "json" (one object per line, for log pipelines) or "text" (for a person at a terminal).
    log_format: str = "json"
    log_level: str = "INFO"
    # Where each worker container serves Dramatiq's Prometheus metrics.
    worker_metrics_port: int = 9191
    # Where each web container serves its metrics, apart from the public port; 0 turns it off.
    web_metrics_port: int = 9190
    web_metrics_host: str = "0.0.0.0"  # noqa: S104 (Prometheus scrapes the pod's address)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        port = _int(env, "PORT", 8000)
        return cls(
            database_url=env.get("SCIMGATE_DATABASE_URL") or cls.database_url,
            redis_url=env.get("SCIMGATE_REDIS_URL") or None,
            public_url=(env.get("SCIMGATE_PUBLIC_URL") or "").rstrip("/") or None,
            port=port,
            web_threads=_int(env, "SCIMGATE_WEB_THREADS", 8),
            reconcile_debounce_ms=_int(env, "SCIMGATE_RECONCILE_DEBOUNCE_MS", 250),
            reconcile_batch_size=_int(
                env, "SCIMGATE_RECONCILE_BATCH_SIZE", DEFAULT_RECONCILE_BATCH_SIZE
            ),
            max_body_bytes=_int(env, "SCIMGATE_MAX_BODY_BYTES", 1_048_576),
            max_page_size=_int(env, "SCIMGATE_MAX_PAGE_SIZE", 1000),
            bulk_max_operations=_int(env, "SCIMGATE_BULK_MAX_OPERATIONS", 1000),
            webhook_timeout_seconds=_int(env, "SCIMGATE_WEBHOOK_TIMEOUT_SECONDS", 10),
            secret_key=env.get("SCIMGATE_SECRET_KEY") or DEVELOPMENT_SECRET_KEY,
            cursor_timeout_seconds=_int(env, "SCIMGATE_CURSOR_TIMEOUT_SECONDS", 3600),
            dns_resolver=env.get("SCIMGATE_DNS_RESOLVER") or None,
            dns_timeout_seconds=_float(env, "SCIMGATE_DNS_TIMEOUT_SECONDS", 5.0),
            audit_retention_days=_int(env, "SCIMGATE_AUDIT_RETENTION_DAYS", 90),
            rate_limit_per_second=_float(env, "SCIMGATE_RATE_LIMIT_PER_SECOND", 100.0),
            rate_limit_burst=_int(env, "SCIMGATE_RATE_LIMIT_BURST", 200),
            log_format=_choice(env, "SCIMGATE_LOG_FORMAT", ("json", "text"), "json"),
            log_level=(env.get("SCIMGATE_LOG_LEVEL") or "INFO").upper(),
            worker_metrics_port=_int(env, "SCIMGATE_WORKER_METRICS_PORT", 9191),
            web_metrics_port=_int(env, "SCIMGATE_WEB_METRICS_PORT", 9190),
            web_metrics_host=env.get("SCIMGATE_WEB_METRICS_HOST") or cls.web_metrics_host,
        )

    @property
    def base_url(self) -> str:
        """The public address IdPs use; SCIM base URLs and `meta.location` start with it."""
        return self.public_url or f"http://localhost:{self.port}"

    def scim_base_url(self, organization_slug: str) -> str:
        return f"{self.base_url}/scim/v2/{organization_slug}"
