"""How deep a JSON text nests, found from its raw bytes before anything parses it.

A body nested thousands of levels deep costs the parser its recursion (orjson gives up only
at 1024 levels), and whatever walks the parsed value afterwards (pydantic, a Bulk
operation's bulkId substitution, orjson serialising it again) recurses as deep. Real SCIM
bodies stay shallow: the deepest the Okta and Entra replays and the Bulk tests send is eight
levels (a Bulk request wrapping a PATCH that adds members), and a Bulk PATCH of the
enterprise extension's manager would be nine. MAX_JSON_DEPTH leaves more than three times
that.

The check runs on every body, so it costs almost nothing for the usual ones: a body with no
more opening brackets than the limit cannot nest deeper, and two counts in C settle it (an
Okta user has about twelve). Only a body with more has its strings taken out and its
brackets measured, in passes over the bytes that all run in C, in less time than orjson
takes to parse the same body (figures in bench/README.md).
"""

from __future__ import annotations

from itertools import accumulate

# Arrays and objects inside one another, the outermost counting as one.
MAX_JSON_DEPTH = 32

# Objects and arrays nest alike: `{` and `}` become `[` and `]`, and every byte but the
# brackets and quotes goes. A `}` closing a `[` is then not noticed here; the parser, which
# only ever sees a text that nests no deeper than the limit, refuses it.
_BRACKETS_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKET_OR_QUOTE = bytes(byte for byte in range(256) if byte not in b'[]{}"')
# What each bracket adds to the depth.
_DEPTH_STEP = [0] * 256
_DEPTH_STEP[ord("[")] = 1
_DEPTH_STEP[ord("]")] = -1


def nests_deeper_than(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text in `raw` nests arrays and objects more than `limit` deep.

    Brackets inside strings do not count, escaped quotes included. For a text that is not
    JSON the answer is only a guess, which is enough: the parser refuses such a text anyway.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    brackets = _brackets_outside_strings(raw)
    if brackets.count(b"[") <= limit:
        return False
    # Take out the innermost pairs, `[]` (an empty array, or an object of plain values,
    # which most SCIM objects are): what is left nests one level less, and is usually much
    # shorter. (In a text whose brackets do not balance it may nest as deep; that text is
    # refused either way.)
    inner = brackets.replace(b"[]", b"")
    if inner.count(b"[") < limit:
        return False
    # A run of opening brackets is that deep already, and this finds it without counting:
    # it settles at once a body that is nothing but `[[[[...`.
    if b"[" * limit in inner:
        return True
    return max(accumulate(map(_DEPTH_STEP.__getitem__, inner))) >= limit


def _brackets_outside_strings(raw: bytes) -> bytes:
    """The brackets of a JSON text that are not inside a string, all made square."""
    if b"\\" in raw:
        # An escaped backslash first, so that in `\\"` the quote still ends its string;
        # then an escaped quote, which does not. Any backslash left escapes a letter.
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    reduced = raw.translate(_BRACKETS_AS_SQUARE, _NOT_BRACKET_OR_QUOTE)
    # A string with no bracket in it is now `""`. Taken from the left, such pairs are the
    # strings themselves as long as every string before them was one too; if no quote is
    # left, every string was, and what remains is the brackets outside them.
    outside = reduced.replace(b'""', b"")
    if b'"' not in outside:
        return outside
    # Some string holds a bracket (a PATCH path such as `members[value eq "u1"]`): split at
    # the quotes, and every other piece is outside a string.
    return b"".join(reduced.split(b'"')[::2])
