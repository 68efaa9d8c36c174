"""A paced flood of SCIM GETs from a process of its own, until SIGTERM (or a time cap).

Run apart from the test that measures latency, so the flood's threads never hold that
process's GIL and the measurement sees only what the server does:

    python -m tests.support.flood BASE_URL TOKEN --threads 4 --rate-per-thread 40

It starts paused; SIGUSR1 resumes it and SIGUSR2 pauses it, so a test can alternate loaded
and unloaded measurements. On stop it prints one JSON object: status counts, Retry-After
values seen, and duration.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections import Counter

import httpx

MAX_SECONDS = 60


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("token")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rate-per-thread", type=float, default=40)
    args = parser.parse_args()
    stop = threading.Event()
    running = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    signal.signal(signal.SIGUSR1, lambda _signum, _frame: running.set())
    signal.signal(signal.SIGUSR2, lambda _signum, _frame: running.clear())
    statuses: Counter[int] = Counter()
    retry_after: Counter[str] = Counter()
    lock = threading.Lock()

    def flood() -> None:
        headers = {"Authorization": f"Bearer {args.token}"}
        with httpx.Client(base_url=args.base_url, headers=headers, timeout=10) as client:
            next_at = time.monotonic()
            while not stop.is_set():
                if not running.is_set():
                    running.wait(0.05)
                    next_at = time.monotonic()
                    continue
                response = client.get("/Users", params={"count": 1})
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code == 429:
                        retry_after[response.headers.get("Retry-After", "missing")] += 1
                next_at += 1 / args.rate_per_thread
                stop.wait(max(next_at - time.monotonic(), 0))

    started = time.monotonic()
    threads = [threading.Thread(target=flood) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    stop.wait(MAX_SECONDS)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    report = {
        "statuses": {str(status): count for status, count in statuses.items()},
        "retry_after": dict(retry_after),
        "seconds": time.monotonic() - started,
    }
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
