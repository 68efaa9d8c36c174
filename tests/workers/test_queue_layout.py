"""What the status reads of Redis: the work waiting in the queues, by the layout in keys.py."""

from __future__ import annotations

from dramatiq.brokers.redis import RedisBroker

from workers.keys import (
    MAINTENANCE_QUEUE,
    ROSTER_QUEUE,
    WEBHOOKS_QUEUE,
    dead_messages,
    delayed_messages,
    ready_messages,
)
from workers.metrics import queue_backlog, queue_depths


def test_the_backlog_counts_ready_and_delayed_work_but_not_the_dead_or_maintenance(
    broker: RedisBroker,
):
    client = broker.client
    client.rpush(ready_messages(ROSTER_QUEUE), "a", "b")
    client.rpush(delayed_messages(WEBHOOKS_QUEUE), "c")
    client.zadd(dead_messages(ROSTER_QUEUE), {"d": 1})
    client.rpush(ready_messages(MAINTENANCE_QUEUE), "e")

    depths = queue_depths(client)

    assert depths[(ROSTER_QUEUE, "ready")] == 2
    assert depths[(ROSTER_QUEUE, "dead")] == 1
    assert depths[(WEBHOOKS_QUEUE, "delayed")] == 1
    assert queue_backlog(client) == 3
