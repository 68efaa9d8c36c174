"""IdP-shaped bursts from threads, as Okta sends a full push: many users, some in parallel."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.support.scim import SCIM_JSON, okta_user

MAX_THROTTLED_RETRIES = 30


class ScimBurst:
    """Sends many requests with a few connections and tallies the statuses it got back."""

    def __init__(self, base_url: str, token: str, concurrency: int = 8) -> None:
        self.base_url = base_url
        self.token = token
        self.concurrency = concurrency
        self.statuses: Counter[int] = Counter()
        self.sent = 0
        # Answers of 429 that were waited out and retried.
        self.throttled = 0
        self._lock = threading.Lock()
        self._local = threading.local()

    def _client(self) -> httpx.Client:
        if not hasattr(self._local, "client"):
            self._local.client = httpx.Client(
                base_url=self.base_url,
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": SCIM_JSON,
                    "Accept": SCIM_JSON,
                },
                timeout=30,
            )
        return self._local.client

    def run(self, requests: Iterable[Callable[[httpx.Client], httpx.Response]]) -> None:
        def send(request: Callable[[httpx.Client], httpx.Response]) -> None:
            response = request(self._client())
            # As Okta and Entra do: a 429 is waited out for Retry-After seconds, then retried.
            for _ in range(MAX_THROTTLED_RETRIES):
                if response.status_code != 429:
                    break
                with self._lock:
                    self.throttled += 1
                time.sleep(float(response.headers.get("Retry-After", "1")))
                response = request(self._client())
            with self._lock:
                self.statuses[response.status_code] += 1
                self.sent += 1

        with ThreadPoolExecutor(self.concurrency) as pool:
            for future in [pool.submit(send, request) for request in requests]:
                future.result()

    def create_users(self, emails: Iterable[str]) -> None:
        self.run(_creator(email) for email in emails)


def _creator(email: str) -> Callable[[httpx.Client], httpx.Response]:
    def create(client: httpx.Client) -> httpx.Response:
        return client.post("/Users", json=okta_user(email))

    return create


def emails(count: int, domain: str = "example.com", prefix: str = "user") -> list[str]:
    return [f"{prefix}{i:05d}@{domain}" for i in range(count)]


def stats(redis_url: str) -> dict[str, Any]:
    """The counters scimgate keeps in Redis: jobs sent per actor, clock ticks per job."""
    import redis

    client = redis.Redis.from_url(redis_url)
    return {
        key.decode().removeprefix("scimgate:stats:"): int(client.get(key) or 0)
        for key in client.scan_iter("scimgate:stats:*")
    }
