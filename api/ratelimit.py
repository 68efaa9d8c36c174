"""Per-organization rate limit: a token bucket in Redis, so every web process shares it.

Each organization's bucket holds up to `burst` requests and refills at `per_second`. The
check-and-take is one Lua script, atomic in Redis, timed by Redis's own clock so web hosts
with drifting clocks agree. When Redis is unreachable the limiter lets requests through and
says so in the log: refusing SCIM traffic because the limiter is down would turn a Redis
outage into an IdP outage, while the directory write itself does not need Redis.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import falcon
import redis
from prometheus_client import Counter

from api.errors import ScimError

log = logging.getLogger(__name__)

KEY_PREFIX = "scimgate:ratelimit:"
# After a Redis failure, skip it for this long: a dead Redis must not add a connect timeout
# to every request.
BYPASS_SECONDS = 5.0

RATE_LIMIT_BYPASSED = Counter(
    "scimgate_rate_limit_bypassed_total",
    "Requests let through unchecked because Redis could not be asked.",
)

# KEYS[1]: the bucket; KEYS[2], optional: a key that must hold ARGV[4], else nothing is taken
# and the answer is {-1}. ARGV: refill per second, capacity, tokens to take. Returns {allowed,
# retry_after_ms, tokens left}. Numbers go back to Redis as strings: Lua numbers would be
# truncated to integers.
BUCKET_SCRIPT = """
if KEYS[2] and redis.call('GET', KEYS[2]) ~= ARGV[4] then
  return {-1}
end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
local retry_after_ms = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry_after_ms = math.ceil((cost - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, retry_after_ms, math.floor(tokens)}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_seconds: float = 0.0
    remaining: int | None = None


# The decision of a Bulk operation: the bulk request took a token for each (api/resources/bulk.py).
PAID_BY_BULK = Decision(allowed=True)


class TokenBucket:
    """Takes tokens from a named bucket, one per request unless told otherwise; fails open
    when Redis cannot answer."""

    def __init__(self, client: redis.Redis, per_second: float, burst: int) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("the rate limit needs a positive rate and a burst of at least 1")
        self.per_second = per_second
        self.burst = burst
        self._script = client.register_script(BUCKET_SCRIPT)
        self._bypass_until = 0.0
        self._lock = threading.Lock()

    def take(self, bucket: str, cost: int = 1) -> Decision:
        """Take `cost` tokens, all or none; a cost above `burst` is never allowed."""
        if time.monotonic() < self._bypass_until:
            RATE_LIMIT_BYPASSED.inc()
            return Decision(allowed=True)
        try:
            answer = self._script(
                keys=[KEY_PREFIX + bucket], args=[self.per_second, self.burst, cost]
            )
        except (redis.RedisError, OSError) as error:
            self._start_bypass(error)
            RATE_LIMIT_BYPASSED.inc()
            return Decision(allowed=True)
        return _decision(answer)

    def take_if(self, bucket: str, key: str, expected: str) -> Decision | None:
        """Take a token only if Redis holds `expected` at `key`, in the same round trip.

        None when it does not, or when Redis cannot say: then nothing was taken, and the
        caller goes the long way (for authentication: to the database, then `take`).
        """
        if time.monotonic() < self._bypass_until:
            return None
        try:
            answer = self._script(
                keys=[KEY_PREFIX + bucket, key], args=[self.per_second, self.burst, 1, expected]
            )
        except (redis.RedisError, OSError) as error:
            self._start_bypass(error)
            return None
        return None if answer[0] == -1 else _decision(answer)

    def _start_bypass(self, error: Exception) -> None:
        with self._lock:
            if time.monotonic() < self._bypass_until:
                return
            self._bypass_until = time.monotonic() + BYPASS_SECONDS
        log.warning(
            "rate limiter cannot reach Redis (%s); letting requests through for %.0f s",
            type(error).__name__,
            BYPASS_SECONDS,
        )


def _decision(answer: list[int]) -> Decision:
    allowed, retry_after_ms, remaining = answer
    return Decision(bool(allowed), int(retry_after_ms) / 1000, int(remaining))


class RateLimit:
    """Answers 429 with Retry-After once an organization has spent its bucket.

    Runs after authentication, so only a caller holding the organization's token can spend
    its bucket: an anonymous flood cannot lock an organization out. Authentication may have
    taken the token already, in the Redis call that checked its cache (`rate_decision`).
    """

    def __init__(self, bucket: TokenBucket | None) -> None:
        self._bucket = bucket

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        tenant = getattr(req.context, "tenant", None)
        if tenant is None or self._bucket is None:
            return
        decision = getattr(req.context, "rate_decision", None) or self._bucket.take(str(tenant.id))
        if not decision.allowed:
            raise too_many_requests(tenant.slug, self._bucket, decision)


def too_many_requests(
    organization: str, bucket: TokenBucket, decision: Decision, what: str = "too many requests"
) -> ScimError:
    """The 429 of a refused `decision`, with the Retry-After that `decision` asks for."""
    retry_after = max(1, math.ceil(decision.retry_after_seconds))
    return ScimError(
        429,
        f"{what} for organization {organization}; the limit is {bucket.per_second:g} requests "
        f"per second (bursts of {bucket.burst}); retry after {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )
