"""What the admin API answers and the CLI prints: each view a TypedDict, built in one place.

The API sends these as JSON and the CLI reads them by key, so a key renamed here is a type
error in every reader rather than a KeyError in one.
"""

from __future__ import annotations

from typing import TypedDict

from models.core.base import iso
from models.operations.status import OrganizationStatus
from models.organizations.domains import challenge_record
from models.organizations.tables import Domain, Organization
from models.sso import connections as sso_rules
from models.sso.tables import SsoConnection
from models.tokens import scim as scim_access
from models.tokens.tables import ScimToken


class TxtRecordView(TypedDict):
    name: str
    type: str
    value: str


class DomainView(TypedDict):
    name: str
    verified: bool
    verified_at: str | None
    verified_by: str | None
    verification_method: str | None
    # The record to publish, while the domain waits for DNS proof.
    txt_record: TxtRecordView | None
    created_at: str | None


class CertificateView(TypedDict):
    sha256_fingerprint: str
    base64: str


class SsoView(TypedDict):
    entity_id: str
    sso_url: str
    signing_certificates: list[CertificateView]
    created_by: str | None
    created_at: str | None
    updated_at: str | None


class TokenView(TypedDict):
    prefix: str
    state: str
    created_at: str | None
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class SettingsView(TypedDict):
    jit_enabled: bool
    jit_with_scim: bool
    seat_limit: int | None


class OrganizationSummary(TypedDict):
    slug: str
    name: str
    scim_enabled: bool


class ScimView(TypedDict):
    enabled: bool
    base_url: str
    # What SCIM waits for before it can be enabled ("an SSO connection", ...).
    missing_for_enable: list[str]
    tokens: list[TokenView]


class CredentialsView(ScimView):
    """The SCIM view with the new token, shown this once."""

    token: str
    token_prefix: str


class StatusView(OrganizationStatus):
    # Members by status, every status named.
    members: dict[str, int]


class OrganizationView(TypedDict):
    slug: str
    name: str
    created_at: str | None
    domains: list[DomainView]
    sso: SsoView | None
    scim: ScimView
    settings: SettingsView
    status: StatusView


class ReconcileView(TypedDict):
    organization_id: int
    rows_applied: int
    events_appended: int
    batches: int


class NewWebhookView(TypedDict):
    id: int
    url: str
    # The signing secret, shown this once.
    secret: str


class WebhookView(TypedDict):
    id: int
    url: str
    delivered_sequence: int
    undelivered: int
    consecutive_failures: int
    failing_since: str | None
    last_error: str | None
    last_success_at: str | None


class OperatorTokenView(TypedDict):
    name: str
    prefix: str
    token: str


def domain_view(domain: Domain) -> DomainView:
    record = challenge_record(domain)
    return {
        "name": domain.name,
        "verified": domain.verified_at is not None,
        "verified_at": iso(domain.verified_at),
        "verified_by": domain.verified_by,
        "verification_method": domain.verification_method,
        "txt_record": None
        if record is None or domain.verified_at is not None
        else {"name": record.name, "type": "TXT", "value": record.value},
        "created_at": iso(domain.created_at),
    }


def sso_view(connection: SsoConnection) -> SsoView:
    return {
        "entity_id": connection.entity_id,
        "sso_url": connection.sso_url,
        "signing_certificates": [
            {"sha256_fingerprint": sso_rules.certificate_fingerprint(cert), "base64": cert}
            for cert in connection.signing_certificates
        ],
        "created_by": connection.created_by,
        "created_at": iso(connection.created_at),
        "updated_at": iso(connection.updated_at),
    }


def token_view(token: ScimToken) -> TokenView:
    return {
        "prefix": token.prefix,
        "state": scim_access.token_state(token),
        "created_at": iso(token.created_at),
        "expires_at": iso(token.expires_at),
        "revoked_at": iso(token.revoked_at),
        "last_used_at": iso(token.last_used_at),
    }


def settings_view(organization: Organization) -> SettingsView:
    return {
        "jit_enabled": organization.jit_enabled,
        "jit_with_scim": organization.jit_with_scim,
        "seat_limit": organization.seat_limit,
    }


def summary_view(organization: Organization) -> OrganizationSummary:
    return {
        "slug": organization.slug,
        "name": organization.name,
        "scim_enabled": organization.scim_enabled,
    }
