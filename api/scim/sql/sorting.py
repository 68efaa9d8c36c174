"""`sortBy` / `sortOrder` (RFC 7644 §3.4.2.3) as a total SQL order that keyset paging can resume.

The order is the one scim2-models' `SearchRequest.sort` defines: strings compare without
case unless caseExact (code point order, as Python compares them), a multi-valued attribute
by its primary entry or else its first, resources without a value last when ascending and
first when descending (the whole key is reversed). Ties are broken by creation time, then
id, so the order is total and stable across pages and under concurrent inserts.

The key is a tuple of SQL expressions: (has no value, value, created, id), or just (created,
id) without `sortBy`. A cursor stores the key of a row; `after`/`before` resume from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim2_models import InvalidFilterException, SearchRequest
from scim2_models.path import AttributeBinding
from sqlalchemy import Boolean, ColumnElement, String, case, exists, func, literal, select, tuple_

from api.scim.sql.filters import attribute_kind
from api.scim.sql.mapping import ColumnValue, ConstantValue, JsonValue, ResourceMapping, ValueReader
from models.core.base import UTCDateTime
from models.core.json_sql import (
    array_elements,
    casefold,
    code_point_order,
    json_boolean,
    json_boolean_is,
    json_text,
)


@dataclass(frozen=True)
class Ordering:
    """A total order over one resource type's rows, with the means to resume after a row."""

    keys: tuple[ColumnElement[Any], ...]
    kinds: tuple[str, ...]
    descending: bool
    # Identifies the order in a cursor: a cursor is only valid for the order it came from.
    signature: str

    def order_by(self, reverse: bool = False) -> list[ColumnElement[Any]]:
        descending = self.descending != reverse
        return [key.desc() if descending else key.asc() for key in self.keys]

    def after(self, values: tuple[Any, ...], reverse: bool = False) -> ColumnElement[bool]:
        """Rows strictly after `values` in this order (before them when `reverse`)."""
        pairs = zip(values, self.kinds, strict=True)
        bound = tuple_(*(_literal(value, kind) for value, kind in pairs))
        row = tuple_(*self.keys)
        return row < bound if self.descending != reverse else row > bound

    def encode(self, values: tuple[Any, ...]) -> list[Any]:
        """A row's key as JSON values, for a cursor."""
        return [_encode(value, kind) for value, kind in zip(values, self.kinds, strict=True)]

    def decode(self, raw: Any) -> tuple[Any, ...]:
        """A key read back from a cursor; ValueError if it does not fit this order."""
        if not isinstance(raw, list) or len(raw) != len(self.kinds):
            raise ValueError("the cursor does not fit this query")
        return tuple(_decode(value, kind) for value, kind in zip(raw, self.kinds, strict=True))


def compile_sort(request: SearchRequest[Any], mapping: ResourceMapping) -> Ordering:
    """The order a request asks for; `SearchRequest` has already refused unsortable paths."""
    descending = request.sort_order == SearchRequest.SortOrder.descending
    tie_break = (mapping.created_column, mapping.id_column)
    tie_kinds = ("dateTime", "string")
    if request.sort_by is None:
        return Ordering(tie_break, tie_kinds, descending, f"default:{int(descending)}")
    binding = request.sort_binding(mapping.model)
    if binding is None:
        raise InvalidFilterException(detail=f"cannot sort on {request.sort_by}")
    value, kind = _sort_value(binding, mapping)
    if kind == "string":
        value = code_point_order(value if binding.case_exact else casefold(value))
    missing = value.is_(None)
    present_value = _coalesce(value, kind)
    return Ordering(
        (missing, present_value, *tie_break),
        ("boolean", kind, *tie_kinds),
        descending,
        f"{binding.urn.lower()}:{int(descending)}",
    )


def _sort_value(binding: AttributeBinding, mapping: ResourceMapping) -> tuple[Any, str]:
    kind = attribute_kind(binding.target_type)
    if kind not in ("string", "dateTime", "boolean"):
        raise InvalidFilterException(detail=f"cannot sort on {binding.urn}")
    key = mapping.key(binding)
    if key in mapping.unsupported:
        raise InvalidFilterException(detail=mapping.unsupported[key])
    if not binding.is_multivalued:
        reader = _single(binding, mapping)
        if kind == "dateTime":
            column = reader.datetime()
            if column is None:
                raise InvalidFilterException(detail=f"cannot sort on {binding.urn}")
            return column, kind
        if kind == "boolean":
            if not isinstance(reader, JsonValue):
                raise InvalidFilterException(detail=f"cannot sort on {binding.urn}")
            return json_boolean(reader.container, reader.keys), kind
        return reader.text(), kind
    if kind != "string" or mapping.head_key(binding) in mapping.element_sources:
        raise InvalidFilterException(detail=f"cannot sort on {binding.urn}")
    return _primary_or_first(binding, mapping), kind


def _single(binding: AttributeBinding, mapping: ResourceMapping) -> ValueReader:
    key = mapping.key(binding)
    if key in mapping.constants:
        return ConstantValue(mapping.constants[key])
    column: ColumnValue | None = mapping.columns.get(key)
    if column is not None:
        return column
    return JsonValue(mapping.document, mapping.storage_keys(binding))


def _primary_or_first(binding: AttributeBinding, mapping: ResourceMapping) -> Any:
    """The value of the primary entry if there is one, else of the first (RFC 7644 §3.4.2.3)."""
    keys = mapping.storage_keys(binding)
    if binding.sub_field_name is None:  # a list of strings
        return json_text(mapping.document, (*keys, 0))
    head, sub_attribute = keys[:-1], keys[-1]
    elements = array_elements(mapping.document, head, name=None)
    is_primary = json_boolean_is(elements.c.value, ("primary",), True)
    primary_value = (
        select(json_text(elements.c.value, (sub_attribute,)))
        .select_from(elements)
        .where(is_primary)
        .limit(1)
        .scalar_subquery()
    )
    elements_again = array_elements(mapping.document, head, name=None)
    has_primary = exists(
        select(1)
        .select_from(elements_again)
        .where(json_boolean_is(elements_again.c.value, ("primary",), True))
    )
    first_value = json_text(mapping.document, (*head, 0, sub_attribute))
    return case((has_primary, primary_value), else_=first_value)


_NEUTRAL: dict[str, Any] = {"string": "", "boolean": False}


def _coalesce(value: ColumnElement[Any], kind: str) -> ColumnElement[Any]:
    if kind == "dateTime":
        # Timestamps a mapping sorts on are NOT NULL columns.
        return value
    return func.coalesce(value, _literal(_NEUTRAL[kind], kind))


def _literal(value: Any, kind: str) -> ColumnElement[Any]:
    types = {"string": String(), "boolean": Boolean(), "dateTime": UTCDateTime()}
    return literal(value, type_=types[kind])


def _encode(value: Any, kind: str) -> Any:
    if kind == "dateTime":
        return value.isoformat()
    if kind == "boolean":
        return bool(value)
    return value


def _decode(value: Any, kind: str) -> Any:
    if kind == "dateTime":
        if not isinstance(value, str):
            raise ValueError("bad timestamp")
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("bad timestamp")
        return moment
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError("bad boolean")
        return value
    if not isinstance(value, str):
        raise ValueError("bad string")
    return value
