"""List parameters (RFC 7644 §3.4.2.4): 1-based startIndex, count, and the ListResponse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class PageRequest:
    start_index: int
    count: int

    @property
    def offset(self) -> int:
        return self.start_index - 1

    @classmethod
    def parse(cls, start_index: str | None, count: str | None, max_page_size: int) -> PageRequest:
        # RFC 7644: a startIndex below 1 is read as 1, a negative count as 0.
        start = max(_integer(start_index, 1, "startIndex"), 1)
        size = min(max(_integer(count, DEFAULT_PAGE_SIZE, "count"), 0), max_page_size)
        return cls(start_index=start, count=size)


def _integer(raw: str | None, default: int, name: str) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, not {raw!r}") from None


def list_response(resources: list[dict[str, Any]], total: int, start_index: int) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
