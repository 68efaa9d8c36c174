"""Just-in-time provisioning: a person who signed in through the organization's SSO joins it.

The product's SSO service calls this after it has verified a SAML login. It writes the same
accounts and members the roster worker writes, under the same per-organization lock, and
appends the same `member.added` event (with `"source": "jit"`). A member created here and
later pushed by the IdP over SCIM is adopted by the roster worker, not duplicated: from then
on SCIM manages it and the IdP's values win.
"""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.core.base import utcnow
from models.core.email_addresses import email_address_problem
from models.core.errors import Conflict, InvalidValue
from models.events.log import EventLog, lock_organization
from models.organizations.rules import jit_refusal, outside_verified_domains, verified_domains
from models.roster.member_events import member_event_data
from models.roster.reconcile import Seats, ensure_accounts
from models.roster.tables import DEFAULT_ROLE, Member, MemberSource, MemberStatus
from models.tokens.scim import has_sso_connection


class JitRefused(Conflict):
    """The organization does not take JIT members now (off, no SSO, seat limit reached)."""


class JitResult(TypedDict):
    """What JIT did: "created" a member, "rejoined" a removed one, or found one "existing"."""

    outcome: str
    email: str
    status: str
    role: str
    source: str
    display_name: str | None


def provision_jit_member(
    session: Session,
    organization_id: int,
    email: str,
    given_name: str | None = None,
    family_name: str | None = None,
    display_name: str | None = None,
) -> JitResult:
    """Create or link the member for a verified SSO login; refuse what the rules refuse."""
    organization = lock_organization(session, organization_id)
    address = _normalize_email(email)
    refusal = jit_refusal(organization)
    if refusal:
        raise JitRefused(refusal)
    if not has_sso_connection(session, organization.id):
        raise JitRefused(f"{organization.slug!r} has no SSO connection to sign in through")
    verified = verified_domains(session, organization.id)
    outside = outside_verified_domains(address, verified, repr(organization.slug))
    if outside is not None:
        raise InvalidValue(outside)
    name = _display_name(display_name, given_name, family_name)
    account_id = ensure_accounts(session, {address})[address]
    member = session.scalar(
        select(Member).where(
            Member.organization_id == organization.id, Member.account_id == account_id
        )
    )
    if member is not None and member.status == MemberStatus.DEACTIVATED:
        raise JitRefused(
            f"{address} is a deactivated member of {organization.slug!r}; "
            "JIT does not reactivate members"
        )
    if member is not None and member.status == MemberStatus.ACTIVE:
        return _result("existing", address, member)
    if not Seats(session, organization).admit(member.status if member else None):
        limit = organization.seat_limit
        raise JitRefused(f"every seat is taken ({limit} of {limit})")
    now = utcnow()
    outcome = "rejoined" if member is not None else "created"
    if member is None:
        member = Member(organization_id=organization.id, account_id=account_id, created_at=now)
        session.add(member)
    member.role = DEFAULT_ROLE
    member.status = MemberStatus.ACTIVE
    member.source = MemberSource.JIT
    member.display_name = name
    member.directory_user_id = None
    member.updated_at = now
    EventLog(session, organization).append(
        "member.added",
        member_event_data(
            email=address,
            status=MemberStatus.ACTIVE,
            role=DEFAULT_ROLE,
            display_name=name,
            user_id=None,
            external_id=None,
            source=MemberSource.JIT,
        ),
    )
    session.flush()
    return _result(outcome, address, member)


def _normalize_email(email: str) -> str:
    """The address as members are keyed (trimmed, lower case), if SCIM would take it too."""
    address = (email or "").strip().lower()
    if len(address) > 255 or email_address_problem(address) is not None:
        raise InvalidValue(f"{email!r} is not an email address")
    return address


def _display_name(
    display_name: str | None, given_name: str | None, family_name: str | None
) -> str | None:
    if display_name and display_name.strip():
        return display_name.strip()[:255]
    parts = [part.strip() for part in (given_name, family_name) if part and part.strip()]
    return " ".join(parts)[:255] or None


def _result(outcome: str, email: str, member: Member) -> JitResult:
    return {
        "outcome": outcome,
        "email": email,
        "status": member.status,
        "role": member.role,
        "source": member.source,
        "display_name": member.display_name,
    }
