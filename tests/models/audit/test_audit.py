"""The audit trail: SCIM requests and admin actions, per organization, without secrets."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import falcon
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event, func, select, update

from api.dev import free_port
from models.audit.tables import AuditRecord
from models.audit.trail import AuditEntry, AuditWriter, purge_audit
from models.core.base import utcnow
from models.core.db import Database
from tests.support.admin import AdminClient, operator_token
from tests.support.scim import OrganizationFixture, ScimClient, okta_user, patch_op


@pytest.fixture
def idp(app: falcon.App, acme: OrganizationFixture) -> ScimClient:
    return ScimClient(app, "acme", acme.token)


def scim_records(admin: AdminClient, slug: str = "acme") -> list[dict]:
    records = admin.get(f"/orgs/{slug}/audit", params={"limit": 1000}).json["records"]
    return [r for r in records if r["kind"] == "scim"]


def visible_prefix(token: str) -> str:
    """What an admin sees of a token: the 8 characters after its `scimgate_` marker."""
    return token[len("scimgate_") :][:8]


def unauthenticated_unrecorded() -> float:
    return REGISTRY.get_sample_value("scimgate_audit_unauthenticated_unrecorded_total") or 0.0


class TestScimRequests:
    def test_each_request_is_recorded_with_route_status_latency_prefix_and_summary(
        self, admin: AdminClient, idp: ScimClient, acme: OrganizationFixture
    ):
        created = idp.post("/Users", okta_user("ada@acme.com")).json
        idp.get("/Users", params={"filter": 'userName eq "ada@acme.com"'})
        idp.patch(
            f"/Users/{created['id']}", patch_op({"op": "replace", "value": {"active": False}})
        )
        idp.delete(f"/Users/{created['id']}")

        records = scim_records(admin)

        prefix = visible_prefix(acme.token)
        assert [(r["action"], r["method"], r["path"], r["status"]) for r in records] == [
            ("Users.create", "POST", "/scim/v2/{organization}/Users", 201),
            ("Users.list", "GET", "/scim/v2/{organization}/Users", 200),
            ("Users.patch", "PATCH", "/scim/v2/{organization}/Users/{user_id}", 200),
            ("Users.delete", "DELETE", "/scim/v2/{organization}/Users/{user_id}", 204),
        ]
        assert {r["actor"] for r in records} == {f"scim token {prefix}"}
        assert {r["token_prefix"] for r in records} == {prefix}
        assert [r["target"] for r in records] == [created["id"], None, created["id"], created["id"]]
        assert records[0]["details"] == {"version": 'W/"1"'}
        assert records[1]["details"] == {"totalResults": 1}
        assert records[2]["details"] == {"version": 'W/"2"'}
        assert all(isinstance(r["latency_ms"], float) and r["latency_ms"] > 0 for r in records)

    def test_searches_are_named_as_searches(self, admin: AdminClient, idp: ScimClient):
        search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
        assert idp.post("/Users/.search", search).status_code == 200
        assert idp.post("/.search", search).status_code == 200

        records = scim_records(admin)

        assert [(r["action"], r["path"], r["details"]) for r in records] == [
            ("Users.search", "/scim/v2/{organization}/Users/.search", {"totalResults": 0}),
            ("root.search", "/scim/v2/{organization}/.search", {"totalResults": 0}),
        ]

    def test_failures_are_recorded_with_their_scim_type_and_never_a_secret_or_body(
        self, admin: AdminClient, idp: ScimClient, acme: OrganizationFixture
    ):
        refused = idp.post("/Users", okta_user("mallory@elsewhere.org"))
        idp.get("/Users", token="scimgate_wrongwrongwrongwrong")
        idp.get("/Users", token=admin.token)

        records = scim_records(admin)

        prefix = visible_prefix(acme.token)
        assert refused.status_code == 400
        assert [(r["action"], r["status"], r["actor"], r["token_prefix"]) for r in records] == [
            ("Users.create", 400, f"scim token {prefix}", prefix),
            ("Users.list", 401, "scim (unauthenticated)", "wrongwro"),
            ("Users.list", 401, "scim (unauthenticated)", None),
        ]
        assert records[0]["details"] == {"scimType": "invalidValue"}
        everything = json.dumps(admin.get("/orgs/acme/audit").json)
        assert acme.token not in everything
        assert admin.token not in everything
        assert "mallory" not in everything
        assert "1mz050nq" not in everything  # the password Okta sends

    def test_requests_for_an_organization_that_does_not_exist_are_not_recorded(
        self, app: falcon.App, acme: OrganizationFixture, database: Database, services
    ):
        ScimClient(app, "nobody", acme.token).get("/Users")
        services.audit_writer.flush()

        with database.reading() as session:
            assert session.scalar(select(func.count()).select_from(AuditRecord)) == 0

    def test_requests_without_a_valid_token_are_recorded_no_faster_than_the_rate_limit(
        self, app_with: Callable[..., falcon.App], database: Database, acme: OrganizationFixture
    ):
        # Anyone can send them: a flood must neither write audit rows faster than the
        # organization may make requests, nor spend the organization's own allowance.
        app = app_with(rate_limit_per_second=0.001, rate_limit_burst=3)
        idp = ScimClient(app, "acme", acme.token)
        unrecorded_before = unauthenticated_unrecorded()

        refused = [idp.get("/Users", token="scimgate_wrongwrongwrongwrong") for _ in range(5)]
        served = idp.get("/Users")

        assert [response.status_code for response in refused] == [401] * 5
        assert served.status_code == 200
        records = scim_records(AdminClient(app, operator_token(database)))
        assert [(r["status"], r["actor"]) for r in records] == [
            *[(401, "scim (unauthenticated)")] * 3,
            (200, f"scim token {visible_prefix(acme.token)}"),
        ]
        assert unauthenticated_unrecorded() == unrecorded_before + 2

    def test_each_organization_sees_only_its_own_records(
        self, admin: AdminClient, app: falcon.App, database: Database, idp: ScimClient
    ):
        globex = OrganizationFixture.create(database, "globex", ["globex.com"])
        ScimClient(app, "globex", globex.token).get("/Users")
        idp.get("/Users")
        idp.get("/Users")

        assert len(scim_records(admin, "acme")) == 2
        assert len(scim_records(admin, "globex")) == 1


class TestQuery:
    def test_pages_by_after_and_limit(self, admin: AdminClient, idp: ScimClient):
        for _ in range(5):
            idp.get("/Users")

        first = admin.get("/orgs/acme/audit", params={"limit": 2}).json
        second = admin.get(
            "/orgs/acme/audit", params={"limit": 2, "after": first["next_after"]}
        ).json
        everything = admin.get("/orgs/acme/audit").json["records"]

        assert [r["id"] for r in first["records"] + second["records"]] == [
            r["id"] for r in everything[:4]
        ]
        assert first["next_after"] == first["records"][-1]["id"]

    @pytest.mark.parametrize("params", [{"after": "x"}, {"limit": "0"}, {"after": "-1"}])
    def test_bad_paging_parameters_are_400(self, admin: AdminClient, acme, params: dict):
        assert admin.get("/orgs/acme/audit", params=params).status_code == 400

    def test_an_unknown_organization_is_404(self, admin: AdminClient):
        assert admin.get("/orgs/nobody/audit").status_code == 404

    def test_the_cli_prints_the_same_records(self, cli, admin: AdminClient, idp: ScimClient):
        idp.get("/Users")
        served = admin.get("/orgs/acme/audit").json["records"]

        printed = json.loads(cli("audit", "acme", "--json").stdout)
        table = cli("audit", "acme").stdout

        assert printed == served
        assert "Users.list" in table
        assert "GET /scim/v2/{organization}/Users 200" in table


class TestAdminActions:
    def test_every_admin_action_is_recorded_in_order_with_its_actor(
        self, admin: AdminClient, idp: ScimClient
    ):
        admin.post("/orgs/acme/scim/rotate", {"grace_seconds": 60})
        admin.patch("/orgs/acme/settings", {"jit_with_scim": True})
        admin.post("/orgs/acme/jit", {"email": "ada@acme.com"})
        admin.post("/orgs/acme/scim/disable")

        records = [r for r in admin.get("/orgs/acme/audit").json["records"]]

        assert [(r["kind"], r["action"], r["actor"]) for r in records] == [
            ("admin", "scim.token_rotated", "operator alice"),
            ("admin", "settings.updated", "operator alice"),
            ("admin", "member.jit_provisioned", "operator alice"),
            ("admin", "scim.disabled", "operator alice"),
        ]
        assert records[0]["details"] == {"grace_seconds": 60, "expires_in_seconds": None}
        assert records[3]["details"] == {"tokens_revoked": 2}

    def test_a_refused_action_leaves_no_record(self, admin: AdminClient, acme):
        admin.post("/orgs/acme/scim/enable")  # refused: already on

        assert admin.get("/orgs/acme/audit").json["records"] == []


class TestRetention:
    def test_purge_removes_only_records_past_the_retention(
        self, admin: AdminClient, idp: ScimClient, database: Database, services
    ):
        for _ in range(3):
            idp.get("/Users")
        services.audit_writer.flush()
        with database.writing() as session:
            oldest = session.scalar(select(func.min(AuditRecord.id)))
            session.execute(
                update(AuditRecord)
                .where(AuditRecord.id == oldest)
                .values(occurred_at=utcnow() - timedelta(days=31))
            )

        removed = purge_audit(database, retention_days=30)

        assert removed == 1
        assert len(scim_records(admin)) == 2
        with pytest.raises(ValueError, match="at least one day"):
            purge_audit(database, retention_days=0)

    def test_the_purge_actor_runs_on_a_worker_with_the_configured_retention(
        self, idp: ScimClient, database: Database, services, drain: Callable[[], None]
    ):
        from workers.maintenance import purge_audit as purge_audit_actor

        idp.get("/Users")
        services.audit_writer.flush()
        with database.writing() as session:
            session.execute(update(AuditRecord).values(occurred_at=utcnow() - timedelta(days=91)))

        purge_audit_actor.send()
        drain()

        with database.reading() as session:
            assert session.scalar(select(func.count()).select_from(AuditRecord)) == 0


class TestWriter:
    def entry(self, organization_id: int, n: int) -> AuditEntry:
        return AuditEntry(
            organization_id=organization_id,
            actor="scim token test",
            action="Users.list",
            method="GET",
            path="/scim/v2/{organization}/Users",
            status=200,
            latency_ms=float(n),
        )

    def test_records_are_written_in_batches_by_the_background_thread(
        self, database: Database, acme: OrganizationFixture
    ):
        writer = AuditWriter(database, flush_interval_seconds=0.05, batch_size=50)
        inserts: list[int] = []

        def count(conn, cursor, statement, parameters, context, executemany):
            if statement.startswith("INSERT INTO audit_records"):
                inserts.append(len(parameters) if executemany else 1)

        event.listen(database.engine, "before_cursor_execute", count)
        try:
            for n in range(120):
                writer.record(self.entry(acme.id, n))
            writer.close()
        finally:
            event.remove(database.engine, "before_cursor_execute", count)

        assert sum(inserts) == 120
        assert len(inserts) <= 5
        with database.reading() as session:
            latencies = session.scalars(select(AuditRecord.latency_ms).order_by(AuditRecord.id))
            assert list(latencies) == [float(n) for n in range(120)]

    def test_a_record_the_database_refuses_for_good_does_not_hold_back_the_others(
        self, database: Database, acme: OrganizationFixture
    ):
        writer = AuditWriter(database, flush_interval_seconds=60)
        writer.record(self.entry(acme.id, 1))
        writer.record(self.entry(999, 2))  # no such organization: the foreign key refuses it
        writer.record(self.entry(acme.id, 3))

        writer.close()

        assert writer.pending == 0
        assert writer.dropped == 1
        with database.reading() as session:
            latencies = session.scalars(select(AuditRecord.latency_ms).order_by(AuditRecord.id))
            assert list(latencies) == [1.0, 3.0]

    def test_while_the_database_is_unreachable_records_wait_keeping_the_newest(self):
        unreachable = Database.from_url(
            f"postgresql+psycopg://nobody:nothing@127.0.0.1:{free_port()}/none", pool_size=1
        )
        writer = AuditWriter(unreachable, flush_interval_seconds=60, max_pending=3)
        try:
            for n in range(5):
                writer.record(self.entry(1, n))
            writer.flush()

            assert writer.pending == 3
            assert writer.dropped == 2
        finally:
            writer.close()
            unreachable.dispose()
