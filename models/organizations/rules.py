"""Organizations and their settings: slugs, names, JIT switches, the domains they own.

The SCIM switch and its tokens are models/tokens/scim.py.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models.core.db import Database
from models.core.errors import Conflict, InvalidValue, NotFound
from models.organizations.tables import Domain, Organization

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
DOMAIN_PATTERN = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)


def get_organization(session: Session, slug: str) -> Organization:
    organization = session.scalar(select(Organization).where(Organization.slug == slug))
    if organization is None:
        raise NotFound(f"no organization {slug!r}")
    return organization


def organization_id(database: Database, slug: str) -> int | None:
    """The id of the organization with this slug, or None."""
    with database.reading() as session:
        return session.scalar(select(Organization.id).where(Organization.slug == slug))


def list_organizations(session: Session) -> list[Organization]:
    return list(session.scalars(select(Organization).order_by(Organization.slug)))


def create_organization(session: Session, slug: str, name: str) -> Organization:
    if not SLUG_PATTERN.match(slug):
        raise InvalidValue(
            f"organization slug {slug!r} must be lowercase letters, digits and dashes (1-63)"
        )
    if not name.strip():
        raise InvalidValue("an organization needs a name")
    if session.scalar(select(Organization.id).where(Organization.slug == slug)) is not None:
        raise Conflict(f"organization {slug!r} already exists")
    organization = Organization(
        slug=slug,
        name=name.strip(),
        scim_enabled=False,
        jit_enabled=True,
        jit_with_scim=False,
        event_sequence=0,
    )
    session.add(organization)
    session.flush()
    return organization


def normalize_domain(name: str) -> str:
    domain = name.strip().lower().rstrip(".")
    if not DOMAIN_PATTERN.match(domain):
        raise InvalidValue(f"{name!r} is not a domain name")
    return domain


def domains_of(organization_id: int) -> Select[Domain]:
    """Every domain of one organization: the root of every domain query."""
    return select(Domain).where(Domain.organization_id == organization_id)


def verified_domains(session: Session, organization_id: int) -> set[str]:
    query = domains_of(organization_id).where(Domain.verified_at.is_not(None))
    return set(session.scalars(query.with_only_columns(Domain.name)))


def outside_verified_domains(
    address: str, verified: Collection[str], organization: str = "this organization"
) -> str | None:
    """Why `address` cannot be a member's email here (no verified domain holds it), or None.

    The one check for SCIM users and JIT members alike; `organization` names it in the answer.
    """
    domain = address.rpartition("@")[2].lower()
    if "@" in address and domain in verified:
        return None
    problem = f"{address!r} is not in a verified domain of {organization}"
    return problem + (f" ({domain!r} is not verified)" if "@" in address else "")


def update_settings(
    session: Session,
    organization: Organization,
    *,
    jit_enabled: bool | None = None,
    jit_with_scim: bool | None = None,
    seat_limit: int | None = None,
    clear_seat_limit: bool = False,
) -> dict[str, list[object]]:
    """Change the organization's settings; returns what changed as {name: [old, new]}."""
    if seat_limit is not None and seat_limit < 0:
        raise InvalidValue("the seat limit is a number of seats, 0 or more")
    wanted: dict[str, object] = {}
    if jit_enabled is not None:
        wanted["jit_enabled"] = jit_enabled
    if jit_with_scim is not None:
        wanted["jit_with_scim"] = jit_with_scim
    if seat_limit is not None or clear_seat_limit:
        wanted["seat_limit"] = seat_limit
    changes: dict[str, list[object]] = {}
    for name, value in wanted.items():
        if getattr(organization, name) != value:
            changes[name] = [getattr(organization, name), value]
            setattr(organization, name, value)
    session.flush()
    return changes


def jit_refusal(organization: Organization) -> str | None:
    """Why JIT provisioning is off for the organization right now, or None if it is on."""
    if not organization.jit_enabled:
        return f"JIT provisioning is off for {organization.slug!r}"
    if organization.scim_enabled and not organization.jit_with_scim:
        return f"{organization.slug!r} provisions its members over SCIM; JIT alongside SCIM is off"
    return None
