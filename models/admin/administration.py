"""Administration: every operator verb, one transaction each, for the admin API and the CLI alike.

Both front ends call these methods and print or serve what they return, so they cannot
disagree about a rule. Every change is recorded in the audit trail in the same transaction
as the change itself; every answer is plain data (dicts and lists) ready for JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.admin.views import (
    CredentialsView,
    DomainView,
    NewWebhookView,
    OperatorTokenView,
    OrganizationSummary,
    OrganizationView,
    ReconcileView,
    ScimView,
    SettingsView,
    SsoView,
    StatusView,
    TokenView,
    WebhookView,
    domain_view,
    settings_view,
    sso_view,
    summary_view,
    token_view,
)
from models.audit.trail import (
    Actor,
    AuditRecordView,
    audit_after,
    audit_payload,
    record_admin_action,
)
from models.core.base import iso
from models.core.db import Database
from models.core.errors import InvalidValue
from models.events.log import EventView, event_payload, events_after
from models.operations.status import organization_status
from models.organizations import domains as domain_rules
from models.organizations import rules as org_rules
from models.organizations.domains import TxtLookup, challenge_record, check_challenge
from models.organizations.tables import Domain, Organization
from models.roster.jit import JitResult, provision_jit_member
from models.roster.reconcile import (
    MemberView,
    full_reconcile,
    reconcile_organization,
    roster_of,
)
from models.roster.tables import Member, MemberStatus
from models.roster.teams import TeamView, teams_roster
from models.sso import connections as sso_rules
from models.sso.tables import SsoConnection
from models.tokens import scim as scim_access
from models.tokens.operators import create_operator_token
from models.webhooks.endpoints import add_endpoint, endpoints_of, replay

# Why a domain given when an organization is created counts as verified.
CREATION_REASON = "declared by an operator when the organization was created"


# The events feed serves at most this many events a page; clients follow `next_after`.
EVENTS_PAGE_LIMIT = 1000


class Administration:
    """The operator verbs over one database; `txt_lookup` answers DNS for domain checks."""

    def __init__(
        self, database: Database, txt_lookup: TxtLookup, scim_base_url: Callable[[str], str]
    ) -> None:
        self._database = database
        self._txt_lookup = txt_lookup
        self._scim_base_url = scim_base_url

    # Organizations

    def list_organizations(self) -> list[OrganizationSummary]:
        with self._database.reading() as session:
            return [summary_view(o) for o in org_rules.list_organizations(session)]

    def create_organization(
        self, actor: Actor, slug: str, name: str, verified_domains: list[str] | None = None
    ) -> OrganizationView:
        """Create an organization; domains given here go through the audited override."""
        with self._database.writing() as session:
            organization = org_rules.create_organization(session, slug, name)
            record_admin_action(
                session,
                organization.id,
                actor,
                "organization.created",
                organization.slug,
                {"name": organization.name},
            )
            for domain_name in verified_domains or []:
                self._force_verify(session, actor, organization, domain_name, CREATION_REASON)
            return self._organization_view(session, organization)

    def organization(self, slug: str) -> OrganizationView:
        with self._database.reading() as session:
            return self._organization_view(session, org_rules.get_organization(session, slug))

    # Domains

    def list_domains(self, slug: str) -> list[DomainView]:
        with self._database.reading() as session:
            organization = org_rules.get_organization(session, slug)
            return [domain_view(d) for d in domain_rules.list_domains(session, organization)]

    def domain(self, slug: str, name: str) -> DomainView:
        with self._database.reading() as session:
            organization = org_rules.get_organization(session, slug)
            return domain_view(domain_rules.get_domain(session, organization, name))

    def add_domain(self, actor: Actor, slug: str, name: str) -> DomainView:
        with self._database.writing() as session:
            organization = org_rules.get_organization(session, slug)
            domain = domain_rules.add_domain(session, organization, name)
            record_admin_action(session, organization.id, actor, "domain.added", domain.name)
            return domain_view(domain)

    def verify_domain(
        self, actor: Actor, slug: str, name: str, *, force: bool = False, reason: str | None = None
    ) -> DomainView:
        """Look the challenge up in DNS (outside any transaction), then record the proof.

        With `force`, an operator vouches for the domain instead, and must say why: the
        reason goes into the audit trail.
        """
        if force and reason is None:
            raise InvalidValue("an operator override (force) needs a reason for the audit trail")
        if reason is not None and not force:
            raise InvalidValue("a reason only goes with an operator override (force)")
        if force and reason is not None:
            return self.force_verify_domain(actor, slug, name, reason)
        with self._database.reading() as session:
            domain = domain_rules.get_domain(
                session, org_rules.get_organization(session, slug), name
            )
            if domain.verified_at is not None:
                return domain_view(domain)
            record = challenge_record(domain)
            challenge = domain.challenge
        if record is None or challenge is None:
            raise domain_rules.VerificationFailed(
                f"{domain.name!r} has no DNS challenge; an operator override can verify it"
            )
        check_challenge(record, self._txt_lookup(record.name))
        with self._database.writing() as session:
            organization = org_rules.get_organization(session, slug)
            verified = domain_rules.mark_verified_by_dns(
                session, organization, name, challenge, actor.label
            )
            record_admin_action(
                session,
                organization.id,
                actor,
                "domain.verified",
                verified.name,
                {"method": "dns", "record": record.name},
            )
            return domain_view(verified)

    def force_verify_domain(self, actor: Actor, slug: str, name: str, reason: str) -> DomainView:
        with self._database.writing() as session:
            organization = org_rules.get_organization(session, slug)
            return domain_view(self._force_verify(session, actor, organization, name, reason))

    def remove_domain(self, actor: Actor, slug: str, name: str) -> None:
        with self._database.writing() as session:
            organization = org_rules.get_organization(session, slug)
            domain = domain_rules.remove_domain(session, organization, name)
            record_admin_action(
                session,
                organization.id,
                actor,
                "domain.removed",
                domain.name,
                {"was_verified": domain.verified_at is not None},
            )

    # SSO connection

    def sso(self, slug: str) -> SsoView:
        with self._database.reading() as session:
            organization = org_rules.get_organization(session, slug)
            return sso_view(sso_rules.get_sso_connection(session, organization))

    def set_sso(self, actor: Actor, slug: str, metadata_xml: bytes | str) -> SsoView:
        with self._database.writing() as session:
            organization = org_rules.get_organization(session, slug)
            connection, replaced = sso_rules.set_sso_connection(
                session, organization, metadata_xml, actor.label
            )
            record_admin_action(
                session,
                organization.id,
                actor,
                "sso.replaced" if replaced else "sso.created",
                connection.entity_id,
                {
                    "sso_url": connection.sso_url,
                    "certificates": [
                        sso_rules.certificate_fingerprint(c)
                        for c in connection.signing_certificates
                    ],
                },
            )
            return sso_view(connection)

    def remove_sso(self, actor: Actor, slug: str) -> None:
        with self._database.writing() as session:
            organization = org_rules.get_organization(session, slug)
            connection = sso_rules.remove_sso_connection(session, organization)
            record_admin_action(
                session,
                organization.id,
                actor,
                "sso.removed",
                connection.entity_id,
                {"scim_stays_enabled": organization.scim_enabled},
            )

    # SCIM

    def scim(self, slug: str) -> ScimView:
        with self._database.reading() as session:
            organization = org_rules.get_organization(session, slug)
            return self._scim_view(session, organization)

    def enable_scim(
        self, actor: Actor, slug: str, expires_in: timedelta | None = None
    ) -> CredentialsView:
        """Turn SCIM on; the answer holds the token, the only time it is ever shown."""
        with self._database.writing() as session:
            organization = org_rules.get_organization(session, slug)
            token = scim_access.enable_scim(session, organization, expires_in)
            record_admin_action(
                session,
                organization.id,
                actor,
                "scim.enabled",
                token.prefix,
                {"expires_in_seconds": _seconds(expires_in)},
            )
            return self._credentials(session, organization, token.secret, token.prefix)

    def disable_scim(self, actor: Actor, slug: str) -> ScimView:
        with self._database.writing() as session:
            organization = org_rules.get_organization(session, slug)
            revoked = scim_access.disable_scim(session, organization)
            record_admin_action(
                session,
                organization.id,
                actor,
                "scim.disabled",
                None,
                {"tokens_revoked": revoked},
            )
            return self._scim_view(session, organization)

    def rotate_scim_token(
        self, actor: Actor, slug: str, grace: timedelta, expires_in: timedelta | None = None
    ) -> CredentialsView:
        with self._database.writing() as session:
            organization = org_rules.get_organization(session, slug)
            token = scim_access.rotate_scim_token(session, organization, grace, expires_in)
            record_admin_action(
                session,
                organization.id,
                actor,
                "scim.token_rotated",
                token.prefix,
                {"grace_seconds": _seconds(grace), "expires_in_seconds": _seconds(expires_in)},
            )
            return self._credentials(session, organization, token.secret, token.prefix)

    def revoke_scim_token(self, actor: Actor, slug: str, prefix: str) -> TokenView:
        with self._database.writing() as session:
            organization = org_rules.get_organization(session, slug)
            token = scim_access.revoke_scim_token(session, organization, prefix)
            record_admin_action(session, organization.id, actor, "scim.token_revoked", prefix)
            return token_view(token)

    # Settings

    def settings(self, slug: str) -> SettingsView:
        with self._database.reading() as session:
            return settings_view(org_rules.get_organization(session, slug))

    def update_settings(self, actor: Actor, slug: str, **changes: Any) -> SettingsView:
        """Change JIT and seat settings (see `organizations.update_settings` for the names)."""
        with self._database.writing() as session:
            organization = org_rules.get_organization(session, slug)
            changed = org_rules.update_settings(session, organization, **changes)
            if changed:
                record_admin_action(
                    session, organization.id, actor, "settings.updated", None, changed
                )
            return settings_view(organization)

    # Members

    def roster(self, slug: str) -> list[MemberView]:
        with self._database.reading() as session:
            return roster_of(session, org_rules.get_organization(session, slug).id)

    def provision_jit(
        self,
        actor: Actor,
        slug: str,
        email: str,
        given_name: str | None = None,
        family_name: str | None = None,
        display_name: str | None = None,
    ) -> JitResult:
        with self._database.writing() as session:
            organization = org_rules.get_organization(session, slug)
            result = provision_jit_member(
                session, organization.id, email, given_name, family_name, display_name
            )
            if result["outcome"] != "existing":
                record_admin_action(
                    session,
                    organization.id,
                    actor,
                    "member.jit_provisioned",
                    result["email"],
                    {"outcome": result["outcome"]},
                )
            return result

    def teams(self, slug: str) -> list[TeamView]:
        with self._database.reading() as session:
            return teams_roster(session, org_rules.get_organization(session, slug).id)

    def reconcile(
        self, actor: Actor, slug: str, *, full: bool = False, batch_size: int = 1000
    ) -> ReconcileView:
        """Apply the organization's pending changes now, or with `full` compare everything
        and repair drift; the job a worker would run, run here, and audited."""
        with self._database.reading() as session:
            organization_id = org_rules.get_organization(session, slug).id
        apply = full_reconcile if full else reconcile_organization
        result = apply(self._database, organization_id, batch_size)
        with self._database.writing() as session:
            record_admin_action(
                session,
                organization_id,
                actor,
                "roster.full_reconciled" if full else "roster.reconciled",
                slug,
                {"rows_applied": result.rows_applied, "events": result.events_appended},
            )
        return {
            "organization_id": organization_id,
            "rows_applied": result.rows_applied,
            "events_appended": result.events_appended,
            "batches": result.batches,
        }

    # Webhooks

    def add_webhook(self, actor: Actor, slug: str, url: str) -> NewWebhookView:
        """A new endpoint for the organization's events, and its signing secret (shown once)."""
        with self._database.writing() as session:
            organization = org_rules.get_organization(session, slug)
            endpoint_id, secret = add_endpoint(session, organization, url)
            record_admin_action(
                session, organization.id, actor, "webhook.added", url, {"id": endpoint_id}
            )
            return {"id": endpoint_id, "url": url, "secret": secret}

    def webhooks(self, slug: str) -> list[WebhookView]:
        """Each endpoint's progress through the event log, and its failures."""
        with self._database.reading() as session:
            organization = org_rules.get_organization(session, slug)
            return [
                {
                    "id": endpoint.id,
                    "url": endpoint.url,
                    "delivered_sequence": endpoint.delivered_sequence,
                    "undelivered": organization.event_sequence - endpoint.delivered_sequence,
                    "consecutive_failures": endpoint.consecutive_failures,
                    "failing_since": iso(endpoint.failing_since),
                    "last_error": endpoint.last_error,
                    "last_success_at": iso(endpoint.last_success_at),
                }
                for endpoint in endpoints_of(session, organization.id)
            ]

    def replay_webhooks(self, actor: Actor, slug: str, from_sequence: int) -> list[int]:
        """Move every endpoint back to deliver again from `from_sequence`; their ids."""
        with self._database.writing() as session:
            organization = org_rules.get_organization(session, slug)
            endpoint_ids = replay(session, organization.id, from_sequence)
            record_admin_action(
                session,
                organization.id,
                actor,
                "webhook.replayed",
                slug,
                {"from_sequence": from_sequence, "endpoints": endpoint_ids},
            )
            return endpoint_ids

    # Events

    def events(self, slug: str, after: int = 0, limit: int = 100) -> list[EventView]:
        """The organization's events after a sequence number, in order: the events feed."""
        with self._database.reading() as session:
            organization = org_rules.get_organization(session, slug)
            found = events_after(session, organization.id, after, min(limit, EVENTS_PAGE_LIMIT))
            return [event_payload(event, organization.slug) for event in found]

    # Status and audit

    def status(self, slug: str) -> StatusView:
        with self._database.reading() as session:
            organization = org_rules.get_organization(session, slug)
            return self._status(session, organization)

    def audit(self, slug: str, after: int = 0, limit: int = 100) -> list[AuditRecordView]:
        with self._database.reading() as session:
            organization = org_rules.get_organization(session, slug)
            return [audit_payload(r) for r in audit_after(session, organization.id, after, limit)]

    # Operators

    def create_operator_token(self, actor: Actor, name: str) -> OperatorTokenView:
        """A new operator token, shown once; the deployment's audit trail records it."""
        with self._database.writing() as session:
            token = create_operator_token(session, name)
            record_admin_action(
                session, None, actor, "operator_token.created", token.prefix, {"name": name}
            )
            return {"name": name, "prefix": token.prefix, "token": token.secret}

    def deployment_audit(self, after: int = 0, limit: int = 100) -> list[AuditRecordView]:
        """The deployment's own audit records: actions on no organization."""
        with self._database.reading() as session:
            return [audit_payload(r) for r in audit_after(session, None, after, limit)]

    # Views that need a session

    def _force_verify(
        self, session: Session, actor: Actor, organization: Organization, name: str, reason: str
    ) -> Domain:
        domain = domain_rules.force_verify_domain(session, organization, name, actor.label, reason)
        record_admin_action(
            session,
            organization.id,
            actor,
            "domain.force_verified",
            domain.name,
            {"reason": reason.strip()},
        )
        return domain

    def _credentials(
        self, session: Session, organization: Organization, secret: str, prefix: str
    ) -> CredentialsView:
        return {
            **self._scim_view(session, organization),
            "token": secret,
            "token_prefix": prefix,
        }

    def _scim_view(self, session: Session, organization: Organization) -> ScimView:
        tokens = session.scalars(scim_access.scim_tokens_of(organization.id))
        return {
            "enabled": organization.scim_enabled,
            "base_url": self._scim_base_url(organization.slug),
            "missing_for_enable": scim_access.scim_prerequisites_missing(session, organization),
            "tokens": [token_view(token) for token in tokens],
        }

    def _status(self, session: Session, organization: Organization) -> StatusView:
        """The operator's status of the organization, with its members counted by status."""
        members = dict(
            session.execute(
                select(Member.status, func.count())
                .where(Member.organization_id == organization.id)
                .group_by(Member.status)
            ).all()
        )
        return {
            **organization_status(session, organization),
            "members": {str(status): members.get(status, 0) for status in MemberStatus},
        }

    def _organization_view(self, session: Session, organization: Organization) -> OrganizationView:
        connection = session.scalar(
            select(SsoConnection).where(SsoConnection.organization_id == organization.id)
        )
        return {
            "slug": organization.slug,
            "name": organization.name,
            "created_at": iso(organization.created_at),
            "domains": [domain_view(d) for d in domain_rules.list_domains(session, organization)],
            "sso": sso_view(connection) if connection else None,
            "scim": self._scim_view(session, organization),
            "settings": settings_view(organization),
            "status": self._status(session, organization),
        }


def _seconds(value: timedelta | None) -> int | None:
    return int(value.total_seconds()) if value is not None else None
