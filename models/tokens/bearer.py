"""Bearer tokens: 256 random bits, shown once, stored as a SHA-256 with a short visible prefix.

Two kinds share this module and nothing else: SCIM tokens (`scimgate_...`, one organization's
SCIM endpoint) and operator tokens (`scimgate_op_...`, the admin API). Each kind lives in its
own table, so a secret of one kind is never found when the other kind is looked up.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

# A scanner can recognise a leaked token by its marker, and an admin can tell tokens apart
# by the prefix that follows it without the secret ever being stored.
TOKEN_MARKER = "scimgate_"  # noqa: S105 (a public marker, not a secret)
OPERATOR_TOKEN_MARKER = "scimgate_op_"  # noqa: S105 (a public marker, not a secret)
PREFIX_LENGTH = 8


@dataclass(frozen=True)
class IssuedToken:
    secret: str
    prefix: str
    digest: str


def issue_token(marker: str = TOKEN_MARKER) -> IssuedToken:
    """A new secret with `marker`; a SCIM token never looks like an operator token."""
    # Draw again when the visible prefix would start with "-" (a command line would read
    # `scim revoke acme -If6B...` as an option), or a SCIM secret would start with the operator
    # marker (one in 262,144). Either costs far less than a bit of entropy; 100 draws in a row
    # that all fail would take a broken random source.
    for _ in range(100):
        body = secrets.token_urlsafe(32)
        if body.startswith("-") or (marker == TOKEN_MARKER and body.startswith("op_")):
            continue
        secret = marker + body
        return IssuedToken(
            secret=secret, prefix=token_prefix(secret, marker), digest=token_digest(secret)
        )
    raise RuntimeError("the random source keeps returning unusable tokens")


def is_operator_token(secret: str) -> bool:
    return secret.startswith(OPERATOR_TOKEN_MARKER)


def token_prefix(secret: str, marker: str = TOKEN_MARKER) -> str:
    return secret[len(marker) : len(marker) + PREFIX_LENGTH]


def token_digest(secret: str) -> str:
    # The secret has 256 bits of entropy, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def digests_match(presented_secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(token_digest(presented_secret), stored_digest)
