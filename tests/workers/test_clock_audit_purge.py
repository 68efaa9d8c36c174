"""The clock sends the audit purge once a day, however many clocks run."""

from __future__ import annotations

import json
import threading
import time

from dramatiq.brokers.redis import RedisBroker

from workers.clock import run_clock


def queued_actor_names(broker: RedisBroker) -> list[str]:
    messages = broker.client.hvals("scimgate:maintenance.msgs")
    return sorted(json.loads(message)["actor_name"] for message in messages)


def run_a_clock_briefly(seconds: float) -> None:
    stop = threading.Event()
    clock = threading.Thread(target=run_clock, args=(stop,), daemon=True)
    clock.start()
    time.sleep(seconds)
    stop.set()
    clock.join(timeout=10)
    assert not clock.is_alive()


def test_two_clocks_one_after_the_other_send_one_purge_for_the_day(broker: RedisBroker):
    run_a_clock_briefly(0.5)
    run_a_clock_briefly(0.5)

    purges = [name for name in queued_actor_names(broker) if name == "maintenance.purge_audit"]
    assert purges == ["maintenance.purge_audit"]
    day = int(time.time() // (24 * 60 * 60))
    assert broker.client.exists(f"scimgate:clock:purge_audit:{day}")
