"""Organizations, their domains and their SCIM tokens: the rules an admin lives by."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.base import utcnow
from models.db import Database
from models.errors import Conflict, InvalidValue, NotFound
from models.tables import Domain, Organization, ScimToken
from models.tokens import digests_match, issue_token, token_prefix

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
DOMAIN_PATTERN = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)


@dataclass(frozen=True)
class Tenant:
    """The organization a request acts for, fixed by its token before any resource runs."""

    id: int
    slug: str
    token_prefix: str


@dataclass(frozen=True)
class ScimCredentials:
    base_url: str
    token: str


def get_organization(session: Session, slug: str) -> Organization:
    organization = session.scalar(select(Organization).where(Organization.slug == slug))
    if organization is None:
        raise NotFound(f"no organization {slug!r}")
    return organization


def create_organization(session: Session, slug: str, name: str) -> Organization:
    if not SLUG_PATTERN.match(slug):
        raise InvalidValue(
            f"organization slug {slug!r} must be lowercase letters, digits and dashes (1-63)"
        )
    if session.scalar(select(Organization.id).where(Organization.slug == slug)) is not None:
        raise Conflict(f"organization {slug!r} already exists")
    organization = Organization(slug=slug, name=name, scim_enabled=False, event_sequence=0)
    session.add(organization)
    session.flush()
    return organization


def normalize_domain(name: str) -> str:
    domain = name.strip().lower().rstrip(".")
    if not DOMAIN_PATTERN.match(domain):
        raise InvalidValue(f"{name!r} is not a domain name")
    return domain


def add_verified_domain(
    session: Session, organization: Organization, name: str, verified_by: str
) -> Domain:
    """Record a domain as verified by an operator's say-so (used for the demo and setup)."""
    domain_name = normalize_domain(name)
    domain = session.scalar(
        select(Domain).where(Domain.organization_id == organization.id, Domain.name == domain_name)
    )
    if domain is None:
        domain = Domain(organization_id=organization.id, name=domain_name)
        session.add(domain)
    if domain.verified_at is None:
        domain.verified_at = utcnow()
        domain.verified_by = verified_by
    session.flush()
    return domain


def verified_domains(session: Session, organization_id: int) -> set[str]:
    return set(
        session.scalars(
            select(Domain.name).where(
                Domain.organization_id == organization_id, Domain.verified_at.is_not(None)
            )
        )
    )


def enable_scim(session: Session, organization: Organization) -> str:
    """Turn SCIM on and issue a fresh token; returns the secret, which is never stored."""
    if not verified_domains(session, organization.id):
        raise Conflict(
            f"SCIM stays locked for {organization.slug!r} until it has a verified domain"
        )
    organization.scim_enabled = True
    token = issue_token()
    session.add(
        ScimToken(organization_id=organization.id, prefix=token.prefix, token_hash=token.digest)
    )
    session.flush()
    return token.secret


def disable_scim(session: Session, organization: Organization) -> None:
    """Turn SCIM off and revoke its tokens at once; members it provisioned stay as they are."""
    organization.scim_enabled = False
    session.execute(
        update(ScimToken)
        .where(ScimToken.organization_id == organization.id, ScimToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def authenticate_scim(database: Database, slug: str, secret: str) -> Tenant | None:
    """The tenant a SCIM token opens, or None: wrong, revoked, expired or another org's token."""
    prefix = token_prefix(secret)
    now = utcnow()
    with database.reading() as session:
        candidates = session.execute(
            select(
                ScimToken.token_hash, ScimToken.expires_at, ScimToken.revoked_at, Organization.id
            )
            .join(Organization, Organization.id == ScimToken.organization_id)
            .where(
                ScimToken.prefix == prefix,
                Organization.slug == slug,
                Organization.scim_enabled.is_(True),
            )
        ).all()
    for digest, expires_at, revoked_at, organization_id in candidates:
        if not digests_match(secret, digest):
            continue
        if revoked_at is not None or _expired(expires_at, now):
            return None
        return Tenant(id=organization_id, slug=slug, token_prefix=prefix)
    return None


def _expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now
