"""Token secrets: their shape, and the prefixes an operator types back."""

from __future__ import annotations

from models.tokens.bearer import OPERATOR_TOKEN_MARKER, TOKEN_MARKER, issue_token


def test_prefixes_never_start_with_a_dash_so_the_cli_never_reads_them_as_options():
    # Without the re-draw about one token in 64 would start with "-": 3000 would show ~47.
    tokens = [issue_token() for _ in range(1500)] + [
        issue_token(OPERATOR_TOKEN_MARKER) for _ in range(1500)
    ]

    assert not [token.prefix for token in tokens if token.prefix.startswith("-")]


def test_a_scim_token_is_256_random_bits_behind_its_marker_and_never_an_operator_token():
    tokens = [issue_token() for _ in range(200)]

    assert all(t.secret.startswith(TOKEN_MARKER) for t in tokens)
    assert not [t for t in tokens if t.secret.startswith(OPERATOR_TOKEN_MARKER)]
    assert {len(t.secret) - len(TOKEN_MARKER) for t in tokens} == {43}  # 32 bytes, base64url
    assert len({t.secret for t in tokens}) == 200
    assert all(t.prefix == t.secret[len(TOKEN_MARKER) :][:8] for t in tokens)
