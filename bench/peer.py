"""The peer: python-scim's scim2-server (its in-memory reference server) as a WSGI app.

    BENCH_PEER_TOKEN=... BENCH_PEER_SEED=10000 gunicorn -c deploy/gunicorn.conf.py \
        --workers 1 bench.peer:app

Built as its own `scim2-server` command builds it (RFC 7643 schemas, User and Group, a static
bearer token), but served by gunicorn on scimgate's configuration. One worker process only:
the storage lives in the process's memory, so a second worker would be a second, different
directory. BENCH_PEER_SEED users (Okta-shaped, userName userNNNNN@example.com) are created
through the app itself before it serves, as scimgate's lookup benchmark seeds its database
directly rather than over HTTP.
"""

from __future__ import annotations

import io
import os
from typing import Any

import orjson
from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

from bench.load import emails
from tests.support.scim import okta_user


def create_app(token: str) -> BearerTokenApplication:
    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    service = ScimService(provider, secret=token)
    return BearerTokenApplication(
        InMemoryStorage(), provider, service=service, bearer_tokens=[token]
    )


def seed(app: BearerTokenApplication, token: str, addresses: list[str]) -> None:
    """Create users by calling the app in-process, exactly as a POST would."""
    statuses: list[str] = []

    def start_response(status: str, headers: Any, *_: Any) -> None:
        statuses.append(status)

    for email in addresses:
        body = orjson.dumps(okta_user(email))
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/v2/Users",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "wsgi.url_scheme": "http",
            "CONTENT_TYPE": "application/scim+json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "wsgi.input": io.BytesIO(body),
        }
        app(environ, start_response)
        if not statuses[-1].startswith("201"):
            raise RuntimeError(f"seeding {email} got {statuses[-1]}")


def with_health(scim_app: BearerTokenApplication) -> Any:
    """Answer /healthz (as scimgate does, for the harness's readiness check); SCIM elsewhere."""

    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"status":"ok"}']
        return scim_app(environ, start_response)

    return serve


_token = os.environ.get("BENCH_PEER_TOKEN", "bench-peer-token")
_scim_app = create_app(_token)
seed(_scim_app, _token, emails(int(os.environ.get("BENCH_PEER_SEED", "0"))))
app = with_health(_scim_app)
