"""SIGKILL the worker in the middle of a burst: the roster still ends equal to the directory,
every event is in the log once, and the webhook consumer misses nothing."""

from __future__ import annotations

import json
import re
import threading

from tests.support.burst import ScimBurst, emails
from tests.support.processes import Stack, wait_until
from tests.support.receiver import WebhookReceiver

BURST = 2000


def enable_scim(stack: Stack) -> tuple[str, str]:
    stack.cli("org", "create", "acme", "--name", "Acme", "--domain", "example.com")
    stack.connect_sso("acme")
    output = stack.cli("scim", "enable", "acme").stdout
    token = re.search(r"^SCIM_TOKEN=(\S+)$", output, re.MULTILINE).group(1)
    return f"{stack.base}/scim/v2/acme", token


def status(stack: Stack) -> dict:
    return json.loads(stack.cli("status", "acme", "--json").stdout)


def test_a_worker_killed_mid_burst_loses_nothing(stack: Stack):
    base_url, token = enable_scim(stack)
    with WebhookReceiver() as receiver:
        added = stack.cli("webhook", "add", "acme", receiver.url).stdout
        receiver.secret = re.search(r"^WEBHOOK_SECRET=(\S+)$", added, re.MULTILINE).group(1)
        stack.start_web()
        stack.start_worker()
        stack.start_clock()
        burst = ScimBurst(base_url, token)
        sender = threading.Thread(target=burst.create_users, args=(emails(BURST),))

        try:
            # When the burst is under way and the worker has applied part of it, kill it.
            sender.start()
            wait_until(lambda: status(stack)["events"] >= 200, timeout=120, what="progress")
            stack.kill("worker")
            sender.join(timeout=300)
            assert burst.statuses == {201: BURST}

            stack.start_worker()
            final = wait_until(
                lambda: (
                    (s := status(stack))["pending_changes"] == 0
                    and s["undelivered_events"] == 0
                    and s
                ),
                timeout=180,
                what="the roster and the webhook to catch up",
            )
            roster = stack.roster("acme")
            events = json.loads(stack.cli("events", "acme", "--json", "--limit", "5000").stdout)
        except AssertionError:
            print(stack.logs())
            raise

    assert len(roster) == BURST
    assert {member["status"] for member in roster.values()} == {"active"}
    assert final["events"] == BURST
    assert [event["sequence"] for event in events] == list(range(1, BURST + 1))
    assert sorted(event["data"]["email"] for event in events) == sorted(roster)
    assert receiver.unique_sequences() == list(range(1, BURST + 1))
    assert receiver.bad_signatures == 0
