"""Webhook delivery: each endpoint receives its organization's events in order, signed, retried.

Two layers of retry, kept small: tenacity retries one HTTP call for a few seconds (a blip),
then the message fails and Dramatiq retries it with backoff for hours (an outage). One
delivery runs per endpoint at a time (a lock in Redis), so order holds across workers.
"""

from __future__ import annotations

import logging
import time
import uuid

import httpx
import orjson
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from models.webhooks.endpoints import (
    SIGNATURE_HEADER,
    Delivery,
    endpoints_of,
    next_delivery,
    record_failure,
    record_success,
    sign,
)
from workers import runtime
from workers.broker import actor, installed_broker
from workers.debounce import clear_pending, send_unless_pending
from workers.keys import WEBHOOKS_QUEUE, delivery_lock, delivery_pending

log = logging.getLogger(__name__)

# Longer than a batch can take (tenacity's attempts times the timeout), so a live holder keeps it.
LOCK_TTL_MS = 120_000
# Delete the lock only if we still hold it: it may have expired and been taken by another.
_RELEASE_IF_HELD = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_http = httpx.Client(follow_redirects=False)


class DeliveryFailed(Exception):
    """The receiver did not acknowledge a batch; Dramatiq retries the message later."""


def notify_endpoints(organization_id: int) -> None:
    """New events were committed: wake every endpoint of the organization."""
    with runtime.database().reading() as session:
        endpoint_ids = [endpoint.id for endpoint in endpoints_of(session, organization_id)]
    for endpoint_id in endpoint_ids:
        send_unless_pending(deliver, delivery_pending(endpoint_id), (endpoint_id,))


@actor(
    actor_name="webhooks.deliver",
    queue_name=WEBHOOKS_QUEUE,
    max_retries=40,
    min_backoff=1_000,
    max_backoff=600_000,
    time_limit=15 * 60 * 1000,
)
def deliver(endpoint_id: int) -> None:
    clear_pending(delivery_pending(endpoint_id))
    client = installed_broker().client
    lock_key, holder = delivery_lock(endpoint_id), uuid.uuid4().hex
    if not client.set(lock_key, holder, nx=True, px=LOCK_TTL_MS):
        # Another worker is delivering to this endpoint; it loops until the log is drained.
        return
    try:
        while (delivery := _next(endpoint_id)) is not None:
            try:
                _post(delivery)
            except (httpx.HTTPError, DeliveryFailed) as error:
                with runtime.database().writing() as session:
                    record_failure(session, endpoint_id, describe(error))
                raise DeliveryFailed(f"endpoint {endpoint_id}: {describe(error)}") from None
            with runtime.database().writing() as session:
                record_success(session, delivery)
            client.pexpire(lock_key, LOCK_TTL_MS)
    finally:
        client.eval(_RELEASE_IF_HELD, 1, lock_key, holder)


def _next(endpoint_id: int) -> Delivery | None:
    with runtime.database().reading() as session:
        return next_delivery(session, endpoint_id)


@retry(
    retry=retry_if_exception_type((httpx.TransportError, DeliveryFailed)),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.5, max=4),
    reraise=True,
)
def _post(delivery: Delivery) -> None:
    body = orjson.dumps(delivery.body)
    response = _http.post(
        delivery.url,
        content=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(delivery.secret, int(time.time()), body),
            "User-Agent": "scimgate-webhooks",
        },
        timeout=runtime.settings().webhook_timeout_seconds,
    )
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"HTTP {response.status_code}")


def describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
