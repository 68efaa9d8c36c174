"""`attributes` / `excludedAttributes` (RFC 7644 §3.9) applied to a rendered resource.

Works on the JSON a resource renders to, so a page of resources is projected without a round
trip through the models. Names match in any case, with or without their schema URN
(`userName`, `name.givenName`, `urn:ietf:params:scim:schemas:core:2.0:User:emails.value`,
`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, or an extension's
URN alone for the whole extension). `id`, `schemas` and `meta` are always returned
(`returned: always`); names the resource type does not declare are ignored, as RFC 7644 lets
a service provider do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ALWAYS_RETURNED = frozenset({"id", "schemas", "meta"})

# A selected attribute: (extension URN or None for the core schema, attribute, sub-attribute).
Selection = tuple[str | None, str, str | None]


@dataclass(frozen=True)
class Projection:
    """Which attributes a response keeps; the default keeps everything."""

    included: frozenset[Selection] | None = None
    excluded: frozenset[Selection] = frozenset()
    # Extension URNs named alone: the whole extension.
    whole_extensions: frozenset[str] = frozenset()

    @classmethod
    def parse(
        cls,
        attributes: Iterable[str] | None,
        excluded_attributes: Iterable[str] | None,
        core_schema: str,
        extension_schemas: Iterable[str],
    ) -> Projection:
        extensions = {schema.lower(): schema for schema in extension_schemas}
        if attributes:
            parsed = [_parse(name, core_schema, extensions) for name in attributes]
            return cls(
                included=frozenset(selection for selection, _ in parsed if selection),
                whole_extensions=frozenset(urn for _, urn in parsed if urn),
            )
        if excluded_attributes:
            parsed = [_parse(name, core_schema, extensions) for name in excluded_attributes]
            return cls(
                excluded=frozenset(selection for selection, _ in parsed if selection),
                whole_extensions=frozenset(urn for _, urn in parsed if urn),
            )
        return cls()

    @property
    def is_identity(self) -> bool:
        return self.included is None and not self.excluded and not self.whole_extensions

    def apply(self, resource: dict[str, Any]) -> dict[str, Any]:
        if self.is_identity:
            return resource
        if self.included is not None:
            return self._keep(resource)
        return self._drop(resource)

    def _keep(self, resource: dict[str, Any]) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        assert self.included is not None
        for key, value in resource.items():
            lowered = key.lower()
            if lowered in ALWAYS_RETURNED or lowered in self.whole_extensions:
                kept[key] = value
            elif isinstance(value, dict) and _is_urn(lowered):
                extension = _keep_in(value, self.included, lowered)
                if extension:
                    kept[key] = extension
            else:
                selected = _select(key, value, self.included, None)
                if selected is not _MISSING:
                    kept[key] = selected
        return kept

    def _drop(self, resource: dict[str, Any]) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        for key, value in resource.items():
            lowered = key.lower()
            if lowered in ALWAYS_RETURNED:
                kept[key] = value
            elif lowered in self.whole_extensions:
                continue
            elif isinstance(value, dict) and _is_urn(lowered):
                extension = _drop_in(value, self.excluded, lowered)
                if extension:
                    kept[key] = extension
            else:
                remaining = _unselect(key, value, self.excluded, None)
                if remaining is not _MISSING:
                    kept[key] = remaining
        return kept


_MISSING = object()


def _parse(
    name: str, core_schema: str, extensions: dict[str, str]
) -> tuple[Selection | None, str | None]:
    """A name as (selection, None), or (None, extension URN) for a whole extension."""
    lowered = name.strip().lower()
    if lowered in extensions:
        return None, lowered
    schema: str | None = None
    rest = lowered
    core = core_schema.lower()
    if rest.startswith(core + ":"):
        rest = rest[len(core) + 1 :]
    else:
        for urn in sorted(extensions, key=len, reverse=True):
            if rest.startswith(urn + ":"):
                schema, rest = urn, rest[len(urn) + 1 :]
                break
    attribute, _, sub_attribute = rest.partition(".")
    return (schema, attribute, sub_attribute or None), None


def _is_urn(key: str) -> bool:
    return key.startswith("urn:")


def _select(key: str, value: Any, included: frozenset[Selection], schema: str | None) -> Any:
    lowered = key.lower()
    if (schema, lowered, None) in included:
        return value
    subs = {sub for (s, attribute, sub) in included if s == schema and attribute == lowered and sub}
    if not subs:
        return _MISSING
    if isinstance(value, dict):
        picked = {k: v for k, v in value.items() if k.lower() in subs}
        return picked or _MISSING
    if isinstance(value, list):
        items = [
            {k: v for k, v in item.items() if k.lower() in subs}
            for item in value
            if isinstance(item, dict)
        ]
        items = [item for item in items if item]
        return items or _MISSING
    return _MISSING


def _unselect(key: str, value: Any, excluded: frozenset[Selection], schema: str | None) -> Any:
    lowered = key.lower()
    if (schema, lowered, None) in excluded:
        return _MISSING
    subs = {sub for (s, attribute, sub) in excluded if s == schema and attribute == lowered and sub}
    if not subs:
        return value
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k.lower() not in subs} or _MISSING
    if isinstance(value, list):
        items = [
            {k: v for k, v in item.items() if k.lower() not in subs}
            if isinstance(item, dict)
            else item
            for item in value
        ]
        return [item for item in items if item != {}] or _MISSING
    return value


def _keep_in(extension: dict[str, Any], included: frozenset[Selection], urn: str) -> dict:
    kept = {}
    for key, value in extension.items():
        selected = _select(key, value, included, urn)
        if selected is not _MISSING:
            kept[key] = selected
    return kept


def _drop_in(extension: dict[str, Any], excluded: frozenset[Selection], urn: str) -> dict:
    kept = {}
    for key, value in extension.items():
        remaining = _unselect(key, value, excluded, urn)
        if remaining is not _MISSING:
            kept[key] = remaining
    return kept
