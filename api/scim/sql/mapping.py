"""Where a resource type keeps each SCIM attribute, and how to read one as SQL.

A `ResourceMapping` is the seam between the protocol (filters, sorting, projection) and a
table. It names the scim2-models class of the resource type (which resolves attribute names
in any case, URN-qualified or not, and says each attribute's type, multiplicity and
caseExact), the column holding the canonical JSON document, and the exceptions to "read it
from the document":

- `columns`: attributes a column holds with the very same value (indexed ones: userName,
  externalId, displayName), and those only a column holds (`id`, `meta.created`,
  `meta.lastModified`). A column wins over the document, so filters use the indexes.
- `constants`: attributes every resource of the type has with one value
  (`meta.resourceType`).
- `element_sources`: multi-valued attributes whose values live in a table of their own
  rather than in the document (a group's `members`, say). Each maps to an `ElementSource`,
  which turns a condition on one element into an EXISTS over that table.
- `unsupported`: attributes that cannot be evaluated exactly, with the reason a client is
  told (400 invalidFilter).

Keys are fully qualified attribute names in lower case, as `qualified()` builds them:
`urn:ietf:params:scim:schemas:core:2.0:user:meta.created`.

A Groups mapping, for instance, is:

    GROUP_MAPPING = ResourceMapping(
        resource_type="Group", model=Group, document=DirectoryGroup.document,
        id_column=DirectoryGroup.id, created_column=DirectoryGroup.created_at,
        columns={qualified(GROUP, "displayName"): DirectoryGroup.display_name, ...},
        element_sources={qualified(GROUP, "members"): MembersTable()},
    )

and `compile_filter(expression, GROUP_MAPPING)` / `compile_sort(...)` work unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel
from scim2_models import Extension, Resource
from scim2_models.path import AttributeBinding
from sqlalchemy import ColumnElement, DateTime, String, and_, false, literal, true

from models.core.base import UTCDateTime
from models.core.json_sql import json_boolean_is, json_element_text, json_is_set, json_text


def qualified(schema: str, attribute: str) -> str:
    """The key of an attribute in a mapping: its schema URN and dotted name, lower case."""
    return f"{schema}:{attribute}".lower()


class ValueReader(Protocol):
    """One single value of a resource (or of one element of a multi-valued attribute)."""

    def text(self) -> ColumnElement[str]:
        """The value as SQL text; NULL when it is not set."""

    def boolean_is(self, value: bool) -> ColumnElement[bool]:
        """Whether the value is the boolean given; never NULL."""

    def is_set(self) -> ColumnElement[bool]:
        """Whether the value is set (not NULL); never NULL."""

    def datetime(self) -> ColumnElement[datetime] | None:
        """The value as a SQL timestamp, or None when this storage keeps none."""


@dataclass(frozen=True)
class JsonValue:
    """A value at a path inside a JSON column (the document, or one array element)."""

    container: ColumnElement[Any]
    keys: tuple[str, ...]

    def text(self) -> ColumnElement[str]:
        return json_text(self.container, self.keys)

    def boolean_is(self, value: bool) -> ColumnElement[bool]:
        return json_boolean_is(self.container, self.keys, value)

    def is_set(self) -> ColumnElement[bool]:
        return json_is_set(self.container, self.keys)

    def datetime(self) -> None:
        return None


@dataclass(frozen=True)
class ElementText:
    """A string element of a JSON array of strings (`schemas`)."""

    element: ColumnElement[Any]

    def text(self) -> ColumnElement[str]:
        return json_element_text(self.element)

    def boolean_is(self, value: bool) -> ColumnElement[bool]:
        return false()

    def is_set(self) -> ColumnElement[bool]:
        return self.text().is_not(None)

    def datetime(self) -> None:
        return None


@dataclass(frozen=True)
class ColumnValue:
    """A value held by a column of the resource's table."""

    column: ColumnElement[Any]
    # True when the table has an index on lower(column): equality on a caseExact=false
    # attribute is then written so that the index serves it.
    lower_index: bool = False

    def text(self) -> ColumnElement[str]:
        return self.column

    def boolean_is(self, value: bool) -> ColumnElement[bool]:
        return and_(self.column.is_not(None), self.column.is_(value))

    def is_set(self) -> ColumnElement[bool]:
        return self.column.is_not(None)

    def datetime(self) -> ColumnElement[datetime] | None:
        column_type = self.column.type
        is_timestamp = isinstance(column_type, DateTime | UTCDateTime)
        return self.column if is_timestamp else None


@dataclass(frozen=True)
class ConstantValue:
    """A value every resource of the type shares."""

    value: str

    def text(self) -> ColumnElement[str]:
        return literal(self.value, String())

    def boolean_is(self, value: bool) -> ColumnElement[bool]:
        return false()

    def is_set(self) -> ColumnElement[bool]:
        return true()

    def datetime(self) -> None:
        return None


# Given the reader of one element's sub-attribute by name (None: the element itself, for a
# list of strings), the condition on that element.
ElementCondition = Callable[[Callable[[str | None], ValueReader]], ColumnElement[bool]]


class ElementSource(Protocol):
    """Where the values of one multi-valued attribute live, when not in the document."""

    def any_element(self, condition: ElementCondition) -> ColumnElement[bool]:
        """EXISTS an element of the current row's attribute satisfying `condition`."""

    def is_absent(self) -> ColumnElement[bool]:
        """Whether the current row has no value at all for the attribute (not even [])."""


@dataclass(frozen=True)
class ResourceMapping:
    """How one resource type is stored; see the module docstring."""

    resource_type: str
    model: type[Resource[Any]]
    document: ColumnElement[Any]
    id_column: ColumnElement[str]
    created_column: ColumnElement[datetime]
    columns: Mapping[str, ColumnValue] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)
    element_sources: Mapping[str, ElementSource] = field(default_factory=dict)
    unsupported: Mapping[str, str] = field(default_factory=dict)

    @property
    def schema(self) -> str:
        return str(self.model.__schema__)

    def storage_keys(self, binding: AttributeBinding) -> tuple[str, ...]:
        """The path of an attribute in the stored document: wire names, extension first."""
        host = binding.model
        head = wire_name(host, binding.field_name)
        keys: tuple[str, ...] = (head,)
        if binding.sub_field_name is not None:
            keys += (wire_name(binding.field_type, binding.sub_field_name),)  # type: ignore[arg-type]
        if issubclass(host, Extension):
            keys = (str(host.__schema__), *keys)
        return keys

    def key(self, binding: AttributeBinding) -> str:
        return binding.urn.lower()

    def head_key(self, binding: AttributeBinding) -> str:
        """The mapping key of the attribute holding a sub-attribute (`...:emails`)."""
        return (
            binding.urn.lower().rsplit(".", 1)[0] if binding.sub_field_name else self.key(binding)
        )


def wire_name(model: type[BaseModel], field_name: str) -> str:
    """The name an attribute has on the wire (and in stored documents)."""
    info = model.model_fields[field_name]
    return info.serialization_alias or info.alias or field_name
