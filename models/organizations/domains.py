"""Email domains: proved by a DNS TXT record, or vouched for by an operator who gives a reason.

An organization adds a domain and gets a challenge: a TXT record to publish at
`_scimgate-challenge.<domain>`. Verification asks a real DNS resolver for that record. The
lookup happens outside any database transaction (it may take seconds); the caller reads the
challenge, looks it up, then marks the domain verified only if the challenge is still the one
it looked for.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import dns.exception
import dns.resolver
from sqlalchemy.orm import Session

from models.core.base import utcnow
from models.core.email_addresses import email_domain_problem
from models.core.errors import Conflict, DomainError, InvalidValue, NotFound
from models.organizations.rules import domains_of, normalize_domain
from models.organizations.tables import Domain, Organization

CHALLENGE_LABEL = "_scimgate-challenge"
CHALLENGE_VALUE_PREFIX = "scimgate-verification="
MIN_REASON_LENGTH = 10
DNS_PORT = 53

# Looks up the TXT strings published at a name; raises DomainError subclasses on failure.
TxtLookup = Callable[[str], list[str]]


class VerificationFailed(Conflict):
    """DNS answered, but not with the expected record; the message says what it found."""


class ResolverUnavailable(DomainError):
    """DNS did not answer (timeout, SERVFAIL): nothing is known yet; try again later."""


@dataclass(frozen=True)
class TxtRecord:
    name: str
    value: str


def challenge_record(domain: Domain) -> TxtRecord | None:
    """The TXT record that proves control of the domain (None for a domain without one)."""
    if domain.challenge is None:
        return None
    return TxtRecord(
        name=f"{CHALLENGE_LABEL}.{domain.name}", value=CHALLENGE_VALUE_PREFIX + domain.challenge
    )


def get_domain(session: Session, organization: Organization, name: str) -> Domain:
    domain_name = normalize_domain(name)
    domain = session.scalar(domains_of(organization.id).where(Domain.name == domain_name))
    if domain is None:
        raise NotFound(f"{organization.slug!r} has no domain {domain_name!r}")
    return domain


def list_domains(session: Session, organization: Organization) -> list[Domain]:
    return list(session.scalars(domains_of(organization.id).order_by(Domain.name)))


def add_domain(session: Session, organization: Organization, name: str) -> Domain:
    """Add a domain pending verification; adding it again returns the same challenge.

    A domain no user's email can be in is refused: SCIM would unlock for it, then refuse
    every user the IdP sends.
    """
    domain_name = normalize_domain(name)
    problem = email_domain_problem(domain_name)
    if problem is not None:
        raise InvalidValue(
            f"{domain_name!r} cannot be an email domain, so no user in it could be provisioned:"
            f" {problem}"
        )
    domain = session.scalar(domains_of(organization.id).where(Domain.name == domain_name))
    if domain is None:
        domain = Domain(organization_id=organization.id, name=domain_name)
        session.add(domain)
    if domain.verified_at is None and domain.challenge is None:
        domain.challenge = secrets.token_urlsafe(24)
    session.flush()
    return domain


def mark_verified_by_dns(
    session: Session, organization: Organization, name: str, challenge: str, verified_by: str
) -> Domain:
    """Record a DNS proof found for `challenge`, unless the domain changed meanwhile."""
    domain = get_domain(session, organization, name)
    if domain.verified_at is not None:
        return domain
    if domain.challenge != challenge:
        raise Conflict(f"the challenge for {domain.name!r} changed during verification; retry")
    domain.verified_at = utcnow()
    domain.verified_by = verified_by
    domain.verification_method = "dns"
    session.flush()
    return domain


def force_verify_domain(
    session: Session, organization: Organization, name: str, verified_by: str, reason: str
) -> Domain:
    """The operator override: mark a domain verified without DNS; the reason is mandatory."""
    if len((reason or "").strip()) < MIN_REASON_LENGTH:
        raise InvalidValue(
            "an operator override needs a reason (at least "
            f"{MIN_REASON_LENGTH} characters) for the audit trail"
        )
    domain = add_domain(session, organization, name)
    if domain.verified_at is None:
        domain.verified_at = utcnow()
        domain.verified_by = verified_by
        domain.verification_method = "operator"
        session.flush()
    return domain


def remove_domain(session: Session, organization: Organization, name: str) -> Domain:
    """Forget a domain; users already provisioned in it stay, new writes in it are refused."""
    domain = get_domain(session, organization, name)
    session.delete(domain)
    session.flush()
    return domain


def check_challenge(record: TxtRecord, found: list[str]) -> None:
    """Raise VerificationFailed unless `found` holds the challenge value."""
    if record.value in found:
        return
    shown = ", ".join(repr(value) for value in found[:5])
    raise VerificationFailed(
        f"TXT {record.name} holds {shown} but not the expected value {record.value!r}"
    )


def parse_resolver_address(address: str) -> tuple[str, int]:
    """A resolver address ("127.0.0.1:5353", "[::1]:5353", "10.0.0.2", "::1") as (ip, port)."""
    text = address.strip()
    host, port = text, DNS_PORT
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = _port(rest.removeprefix(":"), address)
    elif text.count(":") == 1:
        host, raw_port = text.split(":")
        port = _port(raw_port, address)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"SCIMGATE_DNS_RESOLVER must be an IP address with an optional port, got {address!r}"
        ) from None
    return host, port


def _port(raw: str, address: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"SCIMGATE_DNS_RESOLVER has no valid port: {address!r}")
    return int(raw)


class DnsTxtLookup:
    """TXT lookups through one resolver (the configured address, or the system's)."""

    def __init__(self, resolver_address: str | None, timeout_seconds: float) -> None:
        # A bad address fails at startup; the resolver itself is made per lookup, so a host
        # without /etc/resolv.conf still starts, and nothing is cached between lookups (a
        # cached "not there yet" would hide the record the admin just published).
        self._address = parse_resolver_address(resolver_address) if resolver_address else None
        self._timeout_seconds = timeout_seconds
        self.description = (
            f"the DNS resolver at {resolver_address}"
            if resolver_address
            else "the system's DNS resolver"
        )

    def _resolver(self) -> dns.resolver.Resolver:
        if self._address is None:
            resolver = dns.resolver.Resolver()
        else:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [self._address[0]]
            resolver.port = self._address[1]
        # One overall deadline: the admin waits for this request, not for dnspython's retries.
        resolver.timeout = self._timeout_seconds
        resolver.lifetime = self._timeout_seconds
        return resolver

    def __call__(self, name: str) -> list[str]:
        try:
            answer = self._resolver().resolve(name, "TXT", search=False)
        except dns.resolver.NXDOMAIN:
            raise VerificationFailed(
                f"{name} does not exist in DNS (NXDOMAIN): publish the TXT record, "
                "wait for it to propagate, then verify again"
            ) from None
        except dns.resolver.NoAnswer:
            raise VerificationFailed(
                f"{name} exists but has no TXT record: publish it, then verify again"
            ) from None
        except dns.exception.Timeout:
            raise ResolverUnavailable(
                f"{self.description} did not answer within {self._timeout_seconds:g} s "
                f"when asked for TXT {name}; try again later"
            ) from None
        except dns.resolver.NoNameservers as error:
            raise ResolverUnavailable(
                f"{self.description} could not look up TXT {name} ({error}); try again later"
            ) from None
        except dns.exception.DNSException as error:
            raise ResolverUnavailable(f"looking up TXT {name} failed: {error}") from None
        return [b"".join(rdata.strings).decode("utf-8", errors="replace") for rdata in answer]
