"""Walking the app's routes: concrete paths for their templates, and other spellings of them."""

from __future__ import annotations

import re
from collections.abc import Iterator

from api.routing import Route

FIELD = re.compile(r"{(\w+)}")


def concrete_path(route: Route, organization: str, fields: dict[str, str] | None = None) -> str:
    """The route's template filled in: `organization` for the organization, other fields
    from `fields` (which may name another organization for `org`), else a placeholder."""
    values = {"organization": organization, "org": organization, **(fields or {})}
    return FIELD.sub(lambda field: values.get(field.group(1), "x1"), route.template)


def spellings(path: str) -> Iterator[str]:
    """The path as sent, and the other spellings a router or server might read as it."""
    yield path
    yield "/" + path
    yield "//" + path
    yield "/%2f" + path[1:]
    yield "/%2F" + path[1:]
    head, _, tail = path[1:].partition("/")
    yield f"/{head}//{tail}"
    yield f"/{head}/./{tail}"
    yield f"/{head}/x/../{tail}"
    yield f"/{head}%2f{tail}"
    yield f"/{head}/%2e/{tail}"
    yield path + "//"
