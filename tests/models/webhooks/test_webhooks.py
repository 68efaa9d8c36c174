"""Events leave by webhook: signed, in order, retried through outages, replayable."""

from __future__ import annotations

import pytest

from models.core.db import Database
from models.organizations.rules import get_organization
from models.webhooks.endpoints import add_endpoint, replay, sign, verify_signature
from models.webhooks.tables import WebhookEndpoint
from tests.support.processes import wait_until
from tests.support.receiver import WebhookReceiver
from tests.support.scim import ScimClient, okta_user, patch_op


def register(database: Database, slug: str, url: str) -> tuple[int, str]:
    with database.writing() as session:
        return add_endpoint(session, get_organization(session, slug), url)


def endpoint(database: Database, endpoint_id: int) -> WebhookEndpoint:
    with database.reading() as session:
        return session.get(WebhookEndpoint, endpoint_id)


class TestSignature:
    def test_a_receiver_verifies_what_we_sign_and_rejects_anything_else(self):
        body = b'{"events": []}'
        header = sign("whsec_x", 1_700_000_000, body)

        assert verify_signature("whsec_x", header, body)
        assert not verify_signature("whsec_y", header, body)
        assert not verify_signature("whsec_x", header, body + b" ")
        assert not verify_signature("whsec_x", header.replace("t=17", "t=18"), body)
        assert not verify_signature("whsec_x", "garbage", body)


class TestDelivery:
    def test_events_arrive_signed_and_in_order(
        self, scim: ScimClient, database: Database, tenant, drain
    ):
        with WebhookReceiver() as receiver:
            endpoint_id, receiver.secret = register(database, tenant.slug, receiver.url)
            user = scim.post("/Users", okta_user("ada@example.com")).json
            scim.post("/Users", okta_user("grace@example.com"))
            drain()
            scim.patch(
                f"/Users/{user['id']}", patch_op({"op": "replace", "value": {"active": False}})
            )
            drain()

            wait_until(lambda: len(receiver.events) == 3, timeout=10, what="3 events")

        assert receiver.unique_sequences() == [1, 2, 3]
        assert [e["type"] for e in receiver.events] == [
            "member.added",
            "member.added",
            "member.deactivated",
        ]
        assert receiver.bad_signatures == 0
        assert receiver.events[2]["data"]["email"] == "ada@example.com"
        assert receiver.events[0]["organization"] == "acme"
        assert endpoint(database, endpoint_id).delivered_sequence == 3

    @pytest.mark.parametrize("failure", ["HTTP 500", "ReadTimeout"])
    def test_an_endpoint_that_fails_for_a_while_gets_everything_afterwards_in_order(
        self, scim: ScimClient, database: Database, tenant, drain, failure: str
    ):
        with WebhookReceiver() as receiver:
            endpoint_id, receiver.secret = register(database, tenant.slug, receiver.url)
            receiver.failing = True
            # A timeout is a receiver that stalls longer than our 1 s test timeout.
            receiver.stall_seconds = 1.5 if failure == "ReadTimeout" else 0
            for i in range(5):
                scim.post("/Users", okta_user(f"user{i}@example.com"))

            failing = wait_until(
                lambda: (e := endpoint(database, endpoint_id)).failing_since is not None and e,
                timeout=30,
                what="the failure to be recorded",
            )
            assert receiver.failures_served >= 3
            assert failure in failing.last_error
            assert failing.delivered_sequence == 0

            receiver.failing = False
            wait_until(lambda: len(receiver.unique_sequences()) == 5, timeout=30, what="catch-up")

        assert receiver.unique_sequences() == [1, 2, 3, 4, 5]
        recovered = endpoint(database, endpoint_id)
        assert recovered.failing_since is None
        assert recovered.consecutive_failures == 0

    def test_replay_sends_history_again_from_a_sequence(
        self, scim: ScimClient, database: Database, tenant, drain
    ):
        with WebhookReceiver() as receiver:
            endpoint_id, receiver.secret = register(database, tenant.slug, receiver.url)
            for i in range(3):
                scim.post("/Users", okta_user(f"user{i}@example.com"))
            drain()
            wait_until(lambda: len(receiver.events) == 3, timeout=10, what="first delivery")

            with database.writing() as session:
                replay(session, tenant.id, from_sequence=2)
            from workers.webhooks import deliver

            deliver.send(endpoint_id)
            drain()
            wait_until(lambda: len(receiver.events) == 5, timeout=10, what="the replay")

        assert [e["sequence"] for e in receiver.events] == [1, 2, 3, 2, 3]


class TestEndpoints:
    @pytest.mark.parametrize("url", ["ftp://example.com/x", "not a url", "http://"])
    def test_only_http_urls_are_accepted(self, database: Database, tenant, url: str):
        from models.core.errors import InvalidValue

        with pytest.raises(InvalidValue):
            register(database, tenant.slug, url)

    def test_a_new_endpoint_starts_at_the_present(
        self, scim: ScimClient, database: Database, tenant, drain
    ):
        scim.post("/Users", okta_user("ada@example.com"))
        drain()

        endpoint_id, _ = register(database, tenant.slug, "https://hooks.example.com/in")

        assert endpoint(database, endpoint_id).delivered_sequence == 1
