"""Cached SCIM authentication: fast for a burst, yet a revocation answers 401 at once."""

from __future__ import annotations

from typing import Any

import falcon
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import select, text, update

from api.app import Services
from api.authentication import EPOCH_KEY, CachedAuthenticator, CredentialsEpoch
from api.dev import free_port
from api.ratelimit import TokenBucket
from models.core.base import utcnow
from models.core.db import Database
from models.organizations.domains import force_verify_domain, remove_domain
from models.organizations.rules import get_organization
from models.tokens.scim import disable_scim
from models.tokens.tables import ScimToken
from tests.support.scim import OrganizationFixture, ScimClient, okta_user


def revoke_with_text_sql(database: Database, tenant: OrganizationFixture) -> None:
    """A revocation the session hook cannot see (hand-written SQL), to prove what else holds."""
    with database.writing() as session:
        session.execute(
            text("UPDATE scim_tokens SET revoked_at = :now WHERE organization_id = :organization"),
            {"now": utcnow(), "organization": tenant.id},
        )


class TestRevocationReachesCachedAuthentications:
    def test_disabling_scim_answers_401_on_the_very_next_request(
        self, scim: ScimClient, database: Database, tenant: OrganizationFixture
    ):
        # Given a token the app has already authenticated (and so cached)
        assert scim.get("/Users").status_code == 200
        assert scim.get("/Users").status_code == 200

        # When an admin disables SCIM
        with database.writing() as session:
            disable_scim(session, get_organization(session, tenant.slug))

        # Then the next request is refused
        assert scim.get("/Users").status_code == 401

    def test_revoking_one_token_by_changing_its_row_answers_401_at_once(
        self, scim: ScimClient, database: Database, tenant: OrganizationFixture
    ):
        assert scim.get("/Users").status_code == 200

        with database.writing() as session:
            token = session.scalar(select(ScimToken).where(ScimToken.organization_id == tenant.id))
            token.revoked_at = utcnow()

        assert scim.get("/Users").status_code == 401

    def test_a_bulk_update_of_tokens_answers_401_at_once(
        self, scim: ScimClient, database: Database, tenant: OrganizationFixture
    ):
        assert scim.get("/Users").status_code == 200

        with database.writing() as session:
            session.execute(
                update(ScimToken)
                .where(ScimToken.organization_id == tenant.id)
                .values(revoked_at=utcnow())
            )

        assert scim.get("/Users").status_code == 401

    def test_an_emptied_redis_trusts_no_cached_authentication(
        self,
        scim: ScimClient,
        database: Database,
        tenant: OrganizationFixture,
        broker: RedisBroker,
    ):
        # Given a cached token, revoked behind the hook's back
        assert scim.get("/Users").status_code == 200
        revoke_with_text_sql(database, tenant)
        # When Redis loses its data (a restart without persistence)
        broker.client.flushdb()

        # Then the cache is not trusted: the database says the token is revoked
        assert scim.get("/Users").status_code == 401

    def test_a_cached_token_is_trusted_only_under_the_epoch_it_was_cached_in(
        self,
        scim: ScimClient,
        database: Database,
        tenant: OrganizationFixture,
        broker: RedisBroker,
    ):
        # A revocation the hook cannot see is served from the cache (this is what the epoch
        # is for: without a change of epoch the cache is trusted, for up to TTL_SECONDS)...
        assert scim.get("/Users").status_code == 200
        revoke_with_text_sql(database, tenant)
        assert scim.get("/Users").status_code == 200

        # ...and refused as soon as the epoch changes.
        broker.client.set(EPOCH_KEY, "another epoch")
        assert scim.get("/Users").status_code == 401


class TestOneRedisRoundTripPerCachedRequest:
    """A request served from the cache checks the epoch and spends its rate-limit token in
    one script call: a burst costs Redis one command per request, not two."""

    def test_cached_requests_send_redis_one_command_each(
        self, scim: ScimClient, services: Services, monkeypatch: pytest.MonkeyPatch
    ):
        assert scim.get("/Users").status_code == 200  # cached from here on
        client = services.redis
        assert client is not None
        sent: list[str] = []
        execute = client.execute_command

        def counted(*args: Any, **options: Any) -> Any:
            sent.append(str(args[0]))
            return execute(*args, **options)

        monkeypatch.setattr(client, "execute_command", counted)
        for _ in range(5):
            assert scim.get("/Users").status_code == 200

        assert sent == ["EVALSHA"] * 5

    def test_a_moved_epoch_spends_no_token_on_the_refused_request(
        self,
        scim: ScimClient,
        database: Database,
        tenant: OrganizationFixture,
        broker: RedisBroker,
    ):
        assert scim.get("/Users").status_code == 200
        tokens_left = int(float(broker.client.hget(f"scimgate:ratelimit:{tenant.id}", "tokens")))
        revoke_with_text_sql(database, tenant)
        broker.client.set(EPOCH_KEY, "another epoch")

        assert scim.get("/Users").status_code == 401

        # Refused before the rate limit: the bucket only refilled meanwhile.
        now_left = float(broker.client.hget(f"scimgate:ratelimit:{tenant.id}", "tokens"))
        assert now_left >= tokens_left


class TestDomainChangesReachCachedTenants:
    """A remembered tenant carries its verified domains; a change to them counts at once."""

    def test_a_domain_verified_after_authentication_admits_its_users_at_once(
        self, scim: ScimClient, database: Database, tenant: OrganizationFixture
    ):
        assert scim.post("/Users", okta_user("ada@example.com")).status_code == 201
        assert scim.post("/Users", okta_user("bob@example.org")).status_code == 400

        with database.writing() as session:
            organization = get_organization(session, tenant.slug)
            force_verify_domain(
                session, organization, "example.org", "tests", "a newly acquired domain"
            )

        assert scim.post("/Users", okta_user("bob@example.org")).status_code == 201

    def test_a_removed_domain_refuses_its_users_at_once(
        self, scim: ScimClient, database: Database, tenant: OrganizationFixture
    ):
        assert scim.post("/Users", okta_user("ada@example.com")).status_code == 201

        with database.writing() as session:
            remove_domain(session, get_organization(session, tenant.slug), "example.com")

        response = scim.post("/Users", okta_user("bob@example.com"))
        assert response.status_code == 400
        assert "not verified" in response.json["detail"]


class TestWithoutRedis:
    def test_every_request_is_checked_in_the_database_when_redis_is_unreachable(
        self, database: Database, tenant: OrganizationFixture
    ):
        unreachable = redis.Redis(port=free_port(), socket_connect_timeout=0.2)
        authenticate = CachedAuthenticator(database, CredentialsEpoch(unreachable))

        assert authenticate(tenant.slug, tenant.token).tenant is not None
        revoke_with_text_sql(database, tenant)

        assert authenticate(tenant.slug, tenant.token).tenant is None

    def test_with_a_rate_limit_too_every_request_is_checked_in_the_database(
        self, database: Database, tenant: OrganizationFixture
    ):
        unreachable = redis.Redis(port=free_port(), socket_connect_timeout=0.2)
        bucket = TokenBucket(unreachable, per_second=10, burst=10)
        authenticate = CachedAuthenticator(database, CredentialsEpoch(unreachable), bucket)

        admitted = authenticate(tenant.slug, tenant.token)
        assert admitted.tenant is not None
        # No decision was taken with the admission: the limiter decides (and fails open).
        assert admitted.decision is None
        revoke_with_text_sql(database, tenant)

        assert authenticate(tenant.slug, tenant.token).tenant is None


class TestWhatTheCacheIsKeyedOn:
    def test_a_token_sharing_a_cached_tokens_prefix_is_still_refused(
        self, scim: ScimClient, app: falcon.App, tenant: OrganizationFixture
    ):
        assert scim.get("/Users").status_code == 200
        wrong = ScimClient(app, tenant.slug, tenant.token[:-2] + "xx")

        assert wrong.get("/Users").status_code == 401

    def test_a_cached_token_does_not_open_another_organization(
        self, scim: ScimClient, app: falcon.App, database: Database
    ):
        assert scim.get("/Users").status_code == 200
        OrganizationFixture.create(database, "globex", ["globex.com"])

        assert ScimClient(app, "globex", scim.token).get("/Users").status_code == 401
