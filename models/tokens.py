"""Bearer tokens: 256 random bits, shown once, stored as a SHA-256 with a short visible prefix."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

# A scanner can recognise a leaked token by this marker, and an admin can tell tokens apart
# by the prefix that follows it without the secret ever being stored.
TOKEN_MARKER = "scimgate_"  # noqa: S105 (a public marker, not a secret)
PREFIX_LENGTH = 8


@dataclass(frozen=True)
class IssuedToken:
    secret: str
    prefix: str
    digest: str


def issue_token() -> IssuedToken:
    secret = TOKEN_MARKER + secrets.token_urlsafe(32)
    return IssuedToken(secret=secret, prefix=token_prefix(secret), digest=token_digest(secret))


def token_prefix(secret: str) -> str:
    return secret[len(TOKEN_MARKER) : len(TOKEN_MARKER) + PREFIX_LENGTH]


def token_digest(secret: str) -> str:
    # The secret has 256 bits of entropy, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def digests_match(presented_secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(token_digest(presented_secret), stored_digest)
