"""The Falcon application factory: collaborators in, a WSGI app out."""

from __future__ import annotations

from dataclasses import dataclass

import falcon
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from api.access import RouteAccess
from api.admin.auth import OperatorAuthentication
from api.admin.routes import install_admin_routes
from api.auditing import ScimAuditTrail
from api.authentication import (
    Authenticate,
    CachedAuthenticator,
    CredentialsEpoch,
    invalidate_on_revocation,
    uncached,
)
from api.errors import install_error_handlers
from api.media import install_media_handlers
from api.middleware import RequestSettings, ScimAuthentication
from api.observability import RequestObservability, install_operations_routes
from api.ratelimit import RateLimit, TokenBucket
from api.resources.bulk import BulkResource
from api.resources.discovery import (
    ResourceTypesResource,
    SchemasResource,
    ServiceProviderConfigResource,
)
from api.resources.groups import GroupsResource, render_listed_group
from api.resources.querying import ResourceQueries
from api.resources.search import RootSearchResource
from api.resources.users import UsersResource, render_user
from api.routing import Access, DeclaredRouter
from api.scim.cursors import CursorCodec
from api.scim.sql.groups import GROUP_MAPPING
from api.scim.sql.users import USER_MAPPING
from models.admin.administration import Administration
from models.audit.trail import AuditWriter
from models.core.config import Settings
from models.core.db import Database
from models.directory.groups import GroupService
from models.directory.lookup import UserLookup
from models.directory.users import ChangeListener, DirectoryService
from models.organizations.domains import DnsTxtLookup

SCIM_ROOT = "/scim/v2/{organization}"


@dataclass
class Services:
    database: Database
    # Told after every commit that left directory rows dirty; enqueues the reconcile job.
    on_directory_change: ChangeListener
    # Buffers SCIM request records for the audit trail; one per process.
    audit_writer: AuditWriter | None = None
    # The rate limiter's buckets and the readiness check; None disables both (tests only).
    redis: redis.Redis | None = None
    # Each organization's rate-limit bucket; by default one on `redis` with the settings' limits.
    rate_bucket: TokenBucket | None = None
    # (organization slug, bearer secret) -> the admission; by default a database lookup.
    authenticate: Authenticate | None = None


def default_services(settings: Settings, database: Database | None = None) -> Services:
    """The production collaborators: the configured database and the Redis-backed queue."""
    from workers.broker import setup_broker
    from workers.roster import schedule_reconcile

    setup_broker(settings)

    def enqueue_reconcile(organization_id: int) -> None:
        schedule_reconcile(organization_id, settings.reconcile_debounce_ms)

    database = database or Database.from_url(settings.database_url, pool_size=settings.web_threads)
    client = redis_client(settings.redis_url) if settings.redis_url else None
    authenticate = bucket = None
    if client is not None:
        epoch = CredentialsEpoch(client)
        # Revocations committed in this process (an admin endpoint) advance the epoch too.
        invalidate_on_revocation(epoch)
        bucket = TokenBucket(client, settings.rate_limit_per_second, settings.rate_limit_burst)
        authenticate = CachedAuthenticator(database, epoch, bucket)
    return Services(
        database=database,
        on_directory_change=enqueue_reconcile,
        audit_writer=AuditWriter(database),
        redis=client,
        rate_bucket=bucket,
        authenticate=authenticate,
    )


def redis_client(url: str) -> redis.Redis:
    """A client that gives up fast: every request may ask it, and must not hang on it.

    redis-py retries a failed command three times with backoff by default, which would
    make each request wait seconds for a Redis that is gone; here one failure is final.
    """
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=0.5,
        socket_timeout=0.5,
        health_check_interval=15,
        retry=Retry(NoBackoff(), 0),
    )


def create_app(settings: Settings, services: Services | None = None) -> falcon.App:
    services = services or default_services(settings)
    if services.audit_writer is None:
        services.audit_writer = AuditWriter(services.database)
    if services.rate_bucket is None and services.redis is not None:
        services.rate_bucket = TokenBucket(
            services.redis, settings.rate_limit_per_second, settings.rate_limit_burst
        )
    router = DeclaredRouter()
    app = falcon.App(
        media_type="application/scim+json",
        router=router,
        middleware=[
            # First: every line logged for the request, the audit trail's too, carries its id.
            RequestObservability(),
            # Early, so the latency it records covers authentication and the limits below.
            ScimAuditTrail(services.audit_writer, services.database, services.rate_bucket),
            RequestSettings(settings.public_url, settings.max_body_bytes),
            # Who may call the route the request matched; the rate limit spends what it fixed.
            RouteAccess(
                router,
                ScimAuthentication(services.authenticate or uncached(services.database)),
                OperatorAuthentication(services.database),
            ),
            RateLimit(services.rate_bucket),
        ],
    )
    app.req_options.strip_url_path_trailing_slash = True
    install_media_handlers(app)
    install_error_handlers(app)

    directory = DirectoryService(services.database, services.on_directory_change)
    cursors = CursorCodec(settings.secret_key, settings.cursor_timeout_seconds)
    user_queries = ResourceQueries(
        USER_MAPPING,
        directory.list_users,
        render_user,
        settings.max_page_size,
        cursors,
        find_exact=UserLookup(services.database).find,
    )
    users = UsersResource(directory, user_queries)
    app.add_route(f"{SCIM_ROOT}/Users", users, access=Access.SCIM)
    app.add_route(f"{SCIM_ROOT}/Users/.search", users, suffix="search", access=Access.SCIM)
    app.add_route(f"{SCIM_ROOT}/Users/{{user_id}}", users, suffix="item", access=Access.SCIM)
    group_service = GroupService(services.database, services.on_directory_change)
    group_queries = {
        with_members: ResourceQueries(
            GROUP_MAPPING,
            group_service.lister(with_members),
            render_listed_group,
            settings.max_page_size,
            cursors,
        )
        for with_members in (True, False)
    }
    groups = GroupsResource(group_service, group_queries)
    app.add_route(f"{SCIM_ROOT}/Groups", groups, access=Access.SCIM)
    app.add_route(f"{SCIM_ROOT}/Groups/.search", groups, suffix="search", access=Access.SCIM)
    app.add_route(f"{SCIM_ROOT}/Groups/{{group_id}}", groups, suffix="item", access=Access.SCIM)
    # The server root searches every resource type, members of groups included.
    app.add_route(
        f"{SCIM_ROOT}/.search",
        RootSearchResource([user_queries, group_queries[True]]),
        access=Access.SCIM,
    )

    # A bulk request costs a token per operation, all taken at once: one larger than the
    # burst could never be admitted, so the burst bounds what is advertised and accepted.
    bulk_max_operations = settings.bulk_max_operations
    if services.rate_bucket is not None:
        bulk_max_operations = min(bulk_max_operations, services.rate_bucket.burst)
    app.add_route(
        f"{SCIM_ROOT}/Bulk",
        BulkResource(bulk_max_operations, lambda: app, services.rate_bucket),
        access=Access.SCIM,
    )

    app.add_route(
        f"{SCIM_ROOT}/ServiceProviderConfig",
        ServiceProviderConfigResource(
            settings.max_page_size,
            settings.cursor_timeout_seconds,
            bulk_max_operations,
            settings.max_body_bytes,
        ),
        access=Access.PUBLIC,
    )
    resource_types = ResourceTypesResource()
    app.add_route(f"{SCIM_ROOT}/ResourceTypes", resource_types, access=Access.PUBLIC)
    app.add_route(
        f"{SCIM_ROOT}/ResourceTypes/{{name}}", resource_types, suffix="item", access=Access.PUBLIC
    )
    schemas = SchemasResource()
    app.add_route(f"{SCIM_ROOT}/Schemas", schemas, access=Access.PUBLIC)
    app.add_route(
        f"{SCIM_ROOT}/Schemas/{{schema_id}}", schemas, suffix="item", access=Access.PUBLIC
    )
    app.add_route("/healthz", Health(), access=Access.PUBLIC)

    administration = Administration(
        services.database,
        DnsTxtLookup(settings.dns_resolver, settings.dns_timeout_seconds),
        settings.scim_base_url,
    )
    install_admin_routes(app, administration, services.audit_writer)
    install_operations_routes(app, services.database, services.redis)
    return app


class Health:
    """Liveness: the process is up and answering."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.media = {"status": "ok"}
