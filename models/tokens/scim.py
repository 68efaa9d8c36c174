"""SCIM access: the switch an admin turns on once SSO and a domain are ready, and its tokens.

SCIM stays locked until the organization has an SSO connection and at least one verified
domain. Disabling it revokes every token at once and leaves the members as they are.
Removing the SSO connection (or the last verified domain) later does not switch SCIM off:
provisioning that works keeps working, but a new enable is refused until both are back.

Every change to them is heard by the caches of authenticated tenants (models/tokens/
credentials.py, imported here so that any process that can change them registers it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

import models.tokens.credentials  # noqa: F401  (caches hear of every credentials change)
from models.core.base import utcnow
from models.core.db import Database
from models.core.errors import Conflict, InvalidValue, NotFound
from models.organizations.rules import verified_domains
from models.organizations.tables import Organization
from models.sso.tables import SsoConnection
from models.tokens.bearer import (
    IssuedToken,
    digests_match,
    is_operator_token,
    issue_token,
    token_prefix,
)
from models.tokens.tables import ScimToken
from models.tokens.usage import TOKEN_TOUCH_INTERVAL, touch_last_used

# Longer than any sensible cut-over; a longer "grace" is a token that never really rotated.
MAX_ROTATION_GRACE = timedelta(days=30)


@dataclass(frozen=True)
class Tenant:
    """The organization a request acts for, fixed by its token before any resource runs."""

    id: int
    slug: str
    token_prefix: str
    token_id: int | None = None
    # As of authentication: every User written must be in one of them. A change to the
    # domains invalidates remembered tenants like a revoked token (models/tokens/credentials.py).
    verified_domains: frozenset[str] = frozenset()


def has_sso_connection(session: Session, organization_id: int) -> bool:
    query = select(SsoConnection.id).where(SsoConnection.organization_id == organization_id)
    return session.scalar(query) is not None


def scim_prerequisites_missing(session: Session, organization: Organization) -> list[str]:
    """What the organization still lacks before SCIM may be enabled, in words for an admin."""
    missing = []
    if not has_sso_connection(session, organization.id):
        missing.append("an SSO connection")
    if not verified_domains(session, organization.id):
        missing.append("a verified domain")
    return missing


def scim_tokens_of(organization_id: int) -> Select[ScimToken]:
    """Every SCIM token of one organization, newest first: the root of every token query."""
    return (
        select(ScimToken)
        .where(ScimToken.organization_id == organization_id)
        .order_by(ScimToken.created_at.desc(), ScimToken.id.desc())
    )


def enable_scim(
    session: Session, organization: Organization, expires_in: timedelta | None = None
) -> IssuedToken:
    """Turn SCIM on and issue a fresh token; its secret is returned once and never stored."""
    if organization.scim_enabled:
        raise Conflict(
            f"SCIM is already on for {organization.slug!r}; rotate its token to get a new one"
        )
    missing = scim_prerequisites_missing(session, organization)
    if missing:
        raise Conflict(
            f"SCIM stays locked for {organization.slug!r} until it has {' and '.join(missing)}"
        )
    organization.scim_enabled = True
    return _issue_scim_token(session, organization, expires_in)


def disable_scim(session: Session, organization: Organization) -> int:
    """Turn SCIM off and revoke its tokens at once; members it provisioned stay as they are.

    Returns how many tokens were revoked. Disabling an organization whose SCIM is already off
    is not an error: the result is the same.
    """
    organization.scim_enabled = False
    result = session.execute(
        update(ScimToken)
        .where(ScimToken.organization_id == organization.id, ScimToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def rotate_scim_token(
    session: Session,
    organization: Organization,
    grace: timedelta,
    expires_in: timedelta | None = None,
) -> IssuedToken:
    """Issue a new token; the ones in use keep working for `grace`, then expire.

    The grace period lets an admin paste the new token into the IdP while the old one still
    answers; with a zero grace the old tokens stop at once.
    """
    if not organization.scim_enabled:
        raise Conflict(f"SCIM is off for {organization.slug!r}; enable it to get a token")
    if grace < timedelta(0) or grace > MAX_ROTATION_GRACE:
        raise InvalidValue(f"the grace period must be between 0 and {MAX_ROTATION_GRACE.days} days")
    now = utcnow()
    cutoff = now + grace
    session.execute(
        update(ScimToken)
        .where(
            ScimToken.organization_id == organization.id,
            ScimToken.revoked_at.is_(None),
            or_(ScimToken.expires_at.is_(None), ScimToken.expires_at > cutoff),
        )
        .values(expires_at=cutoff)
        .execution_options(synchronize_session=False)
    )
    return _issue_scim_token(session, organization, expires_in)


def revoke_scim_token(session: Session, organization: Organization, prefix: str) -> ScimToken:
    """Revoke one token, named by its visible prefix, at once."""
    token = session.scalar(
        scim_tokens_of(organization.id).where(
            ScimToken.prefix == prefix, ScimToken.revoked_at.is_(None)
        )
    )
    if token is None:
        raise NotFound(f"{organization.slug!r} has no unrevoked SCIM token {prefix!r}")
    token.revoked_at = utcnow()
    session.flush()
    return token


def token_state(token: ScimToken, now: datetime | None = None) -> str:
    """The token's state as an admin reads it: revoked, expired, expiring (has an end), active."""
    now = now or utcnow()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None:
        return "expired" if token.expires_at <= now else "expiring"
    return "active"


@dataclass(frozen=True)
class TenantGrant:
    """What a valid SCIM token opens, and until when (None: until revoked)."""

    tenant: Tenant
    expires_at: datetime | None


def authenticate_scim(database: Database, slug: str, secret: str) -> Tenant | None:
    """The tenant a SCIM token opens, or None: wrong, revoked, expired or another org's token.

    An operator token is refused before any lookup: the two kinds never open each other's
    doors, and they live in different tables besides.
    """
    grant = grant_scim(database, slug, secret)
    return None if grant is None else grant.tenant


def grant_scim(database: Database, slug: str, secret: str) -> TenantGrant | None:
    """As authenticate_scim, with the token's expiry, for callers that remember the answer."""
    if is_operator_token(secret):
        return None
    prefix = token_prefix(secret)
    now = utcnow()
    with database.reading() as session:
        candidates = session.execute(
            select(ScimToken, Organization.id)
            .join(Organization, Organization.id == ScimToken.organization_id)
            .where(
                ScimToken.prefix == prefix,
                Organization.slug == slug,
                Organization.scim_enabled.is_(True),
            )
        ).all()
        # Every candidate is of the one organization the slug names.
        domains = (
            frozenset(verified_domains(session, candidates[0][1])) if candidates else frozenset()
        )
    for token, organization_id in candidates:
        if not digests_match(secret, token.token_hash):
            continue
        if token.revoked_at is not None or _expired(token.expires_at, now):
            return None
        if token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_INTERVAL:
            touch_last_used(database, ScimToken, token.id, now)
        tenant = Tenant(organization_id, slug, prefix, token.id, domains)
        return TenantGrant(tenant, token.expires_at)
    return None


def _issue_scim_token(
    session: Session, organization: Organization, expires_in: timedelta | None
) -> IssuedToken:
    if expires_in is not None and expires_in <= timedelta(0):
        raise InvalidValue("a token's lifetime must be positive")
    token = issue_token()
    session.add(
        ScimToken(
            organization_id=organization.id,
            prefix=token.prefix,
            token_hash=token.digest,
            expires_at=utcnow() + expires_in if expires_in else None,
        )
    )
    session.flush()
    return token


def _expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now
