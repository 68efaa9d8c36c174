"""How large a filter may be: counted on its text, before any parser or SQL sees it.

What IdPs send is small: Okta and Entra ID look users up by one `userName eq`, `externalId
eq` or `displayName eq` term, and Entra checks a group member with one `members[value eq
...]`. A filter of a thousand `or`-ed terms is no lookup anyone needs, and its cost is paid
three times: in the parser (which recurses once per level of nesting), in the SQL it
compiles to, and in the database, which may refuse it (SQLite's "Expression tree is too
large"). So a filter past either limit is refused with 400 invalidFilter, naming the limit.
The limits are stated in the README and in ServiceProviderConfig's documentation.
"""

from __future__ import annotations

import re

from scim2_models import InvalidFilterException

# Comparisons (`attribute op value`, `attribute pr`) in one filter, brackets included.
MAX_FILTER_TERMS = 200
# Parentheses and value-path brackets inside one another.
MAX_FILTER_DEPTH = 16
# Quoted values go before counting: an `or` or a `(` inside one is data. An unclosed one runs
# to the end of the text, so that no quote is scanned again from each later one (quadratic).
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"?')
_LOGICAL = re.compile(r"\b(?:and|or)\b", re.IGNORECASE)
_DEPTH_STEP = {"(": 1, "[": 1, ")": -1, "]": -1}


def check_filter_size(expression: str) -> None:
    """Raise InvalidFilterException when `expression` has too many terms or nests too deep."""
    bare = _QUOTED.sub('""', expression)
    terms = len(_LOGICAL.findall(bare)) + 1
    if terms > MAX_FILTER_TERMS:
        raise InvalidFilterException(
            detail=f"the filter has {terms} terms; this server takes at most {MAX_FILTER_TERMS}"
        )
    depth = deepest = 0
    for character in bare:
        step = _DEPTH_STEP.get(character)
        if step:
            depth += step
            deepest = max(deepest, depth)
    if deepest > MAX_FILTER_DEPTH:
        raise InvalidFilterException(
            detail=f"the filter nests {deepest} levels deep; this server takes at most "
            f"{MAX_FILTER_DEPTH}"
        )
