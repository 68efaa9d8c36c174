"""SCIM bearer authentication with a cache that revocation empties at once.

Looking a token up costs a database round trip on every request, which an IdP burst makes by
the thousand. A web process therefore remembers, for a short while, which tenant a token
opened. What keeps that safe is the *credentials epoch*: a value in Redis that changes after
every commit touching SCIM credentials (models/tokens/credentials.py). A cached tenant is used only
if the epoch it was cached under is still the current one, read from Redis on every request
(one GET, far cheaper than the query). So:

- disabling SCIM, revoking or rotating a token: the epoch changes right after the commit,
  and the next request of every process looks the token up in the database again: 401.
- the epoch is read *before* the database lookup whose answer is cached, so a revocation that
  commits in between leaves the entry under an epoch that is already stale.
- Redis unreachable, or restarted empty: nothing cached is trusted (an epoch that is missing
  is replaced by a fresh random one, which no entry carries); requests go to the database.
- only positive answers are cached, each for at most TTL_SECONDS and never past its token's
  expiry, so a change the hook could not see is bounded too.

With a rate limit, the epoch check and the organization's rate-limit token are one script
call (`TokenBucket.take_if`): the token is taken only if the epoch is still the one the entry
was cached under, so a request served from the cache makes one Redis round trip, not two.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import redis

from api.ratelimit import Decision, TokenBucket
from models.core.base import utcnow
from models.core.db import Database
from models.tokens.credentials import listen
from models.tokens.scim import Tenant, TenantGrant, authenticate_scim, grant_scim

log = logging.getLogger(__name__)

EPOCH_KEY = "scimgate:credentials-epoch"
TTL_SECONDS = 30.0
MAX_ENTRIES = 10_000
# After Redis fails, skip it for this long rather than wait on its timeouts every request.
REDIS_BACKOFF_SECONDS = 1.0


@dataclass(frozen=True)
class Admission:
    """Who a SCIM request is, and the rate-limit decision if it was taken on the way."""

    tenant: Tenant | None
    decision: Decision | None = None


# (organization slug, bearer secret) -> the admission.
Authenticate = Callable[[str, str], Admission]


class CredentialsEpoch:
    """The credentials epoch in Redis: read by every request, changed by every revocation."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._skip_until = 0.0

    def current(self) -> str | None:
        """The current epoch, or None when Redis cannot say (then trust no cached entry)."""
        if time.monotonic() < self._skip_until:
            return None
        try:
            value = self._client.get(EPOCH_KEY)
            if value is None:
                # Missing (a fresh or flushed Redis): start a new epoch no entry carries.
                self._client.set(EPOCH_KEY, uuid.uuid4().hex, nx=True)
                value = self._client.get(EPOCH_KEY)
        except (redis.RedisError, OSError) as error:
            self._skip_until = time.monotonic() + REDIS_BACKOFF_SECONDS
            log.warning(
                "credentials epoch unavailable, authenticating from the database: %s", error
            )
            return None
        return value.decode() if isinstance(value, bytes) else value

    def advance(self) -> None:
        """Invalidate every cached authentication, in every process."""
        self._client.set(EPOCH_KEY, uuid.uuid4().hex)


@dataclass(frozen=True)
class _Entry:
    grant: TenantGrant
    epoch: str
    cached_at: float


class CachedAuthenticator:
    """authenticate_scim, remembered under the credentials epoch (see the module docstring)."""

    def __init__(
        self, database: Database, epoch: CredentialsEpoch, bucket: TokenBucket | None = None
    ) -> None:
        self._database = database
        self._epoch = epoch
        self._bucket = bucket
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    def __call__(self, slug: str, secret: str) -> Admission:
        key = (slug, hashlib.sha256(secret.encode()).hexdigest())
        entry = self._entries.get(key)
        if entry is not None and not self._fresh(entry):
            entry = None
        if entry is not None and self._bucket is not None:
            tenant = entry.grant.tenant
            decision = self._bucket.take_if(str(tenant.id), EPOCH_KEY, entry.epoch)
            if decision is not None:
                return Admission(tenant, decision)
            entry = None  # the epoch moved, or Redis cannot say: ask the database
        epoch = self._epoch.current()
        if entry is not None and entry.epoch == epoch:
            return Admission(entry.grant.tenant)
        grant = grant_scim(self._database, slug, secret)
        if grant is None or epoch is None:
            return Admission(None if grant is None else grant.tenant)
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = _Entry(grant, epoch, time.monotonic())
        return Admission(grant.tenant)

    @staticmethod
    def _fresh(entry: _Entry) -> bool:
        return time.monotonic() - entry.cached_at < TTL_SECONDS and not _expired(
            entry.grant.expires_at, utcnow()
        )


def _expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now


def uncached(database: Database) -> Authenticate:
    """Every request looks its token up in the database (no Redis to keep caches honest)."""
    return lambda slug, secret: Admission(authenticate_scim(database, slug, secret))


def invalidate_on_revocation(epoch: CredentialsEpoch) -> None:
    """Advance `epoch` after every commit in this process that changes SCIM credentials."""
    listen("credentials-epoch", epoch.advance)
