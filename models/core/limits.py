"""The ranges an operator's numbers must fall in: the admin API and the CLI check the same.

Past them a value would overflow what stores it (a datetime, an integer column) and surface
as a 500 or a traceback instead of a sentence naming the range.
"""

from __future__ import annotations

from datetime import timedelta

# Durations an operator may give (token lifetimes): ten years is already "forever" for a
# token, and a date much further off overflows what a datetime can hold.
MAX_DURATION = timedelta(days=3650)
# The largest values of the database's integer columns (INTEGER and BIGINT on PostgreSQL).
MAX_INTEGER = 2**31 - 1
MAX_BIGINT = 2**63 - 1
# More seats than any organization has people, and well inside an INTEGER column.
MAX_SEAT_LIMIT = 10**9


def whole_number(text: str, minimum: int, maximum: int) -> int | None:
    """`text` as a whole number from `minimum` to `maximum`, or None if it is not one.

    Digits only (no sign, no spaces, no other script's digits), and no more of them than the
    maximum has: int() of a few thousand digits is refused by Python itself, and slow well
    before that.
    """
    digits = text.lstrip("0") or "0"
    if text.isascii() and text.isdigit() and len(digits) <= len(str(maximum)):
        value = int(digits)
        if minimum <= value <= maximum:
            return value
    return None
