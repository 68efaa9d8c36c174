"""SCIM filter expressions (RFC 7644 §3.4.2.2) compiled to one SQL condition.

scim2-models parses the filter and resolves every attribute path against the resource
type's model (names in any case, URN-qualified core and extension attributes, types,
multiplicity, caseExact). This module turns the tree into SQLAlchemy, reading each attribute
where the `ResourceMapping` says it lives (see api/scim/sql/mapping.py: indexed columns first,
else a path into the JSON document, EXISTS over array elements for multi-valued attributes).

The result means exactly what `ScimFilter.match` means on the stored resource, with these
deliberate refusals (400 invalidFilter rather than a result that could be wrong):
- an attribute the resource type does not declare, or one the mapping cannot evaluate
  (`password`, `groups` on Users, `meta.location`, `meta.version`);
- a comparison on a complex attribute with no `value`, on a binary or numeric attribute, a
  substring operator on a dateTime, a dateTime without a time zone;
- a value selection nested in another, or naming a sub-attribute the element lacks;
- a string holding NUL or a lone surrogate, which no database here stores.

Every condition built here is two-valued (never SQL NULL), so `not` negates exactly.
Case-insensitive comparisons fold both sides as Python's `str.lower` does and compare
NFC-normalised filter values, as scim2-models' default comparison key does; stored values
are compared as they were stored.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    AttributeBinding,
    AttrPath,
    CompareOperator,
    Comparison,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
    coerce_value,
)
from sqlalchemy import ColumnElement, and_, exists, false, not_, or_, select, true

from api.scim.filter_limits import check_filter_size
from api.scim.sql.mapping import (
    ColumnValue,
    ConstantValue,
    ElementCondition,
    ElementSource,
    ElementText,
    JsonValue,
    ResourceMapping,
    ValueReader,
    wire_name,
)
from models.core.json_sql import (
    array_elements,
    casefold,
    code_point_order,
    contains,
    ends_with,
    json_is_set,
    starts_with,
)
from models.directory.lookup import exactly_equals, folded_equals

Op = CompareOperator
_SUBSTRING = {Op.co, Op.sw, Op.ew}


def parse_filter(expression: str, mapping: ResourceMapping) -> ScimFilter[Any]:
    """The filter bound to the resource type; InvalidFilterException if it cannot be."""
    if not isinstance(expression, str) or not expression.strip():
        raise InvalidFilterException(detail="the filter is empty")
    _check_text(expression)
    check_filter_size(expression)
    try:
        return ScimFilter[mapping.model](expression)  # type: ignore[name-defined]
    except InvalidFilterException:
        raise
    except (ValueError, TypeError) as error:
        raise InvalidFilterException(detail=f"cannot parse filter: {error}") from None


def compile_filter(
    expression: str | ScimFilter[Any], mapping: ResourceMapping
) -> ColumnElement[bool]:
    """The SQL condition for a filter; raises InvalidFilterException for what it cannot do."""
    bound = (
        expression
        if isinstance(expression, ScimFilter) and expression.models
        else parse_filter(str(expression), mapping)
    )
    return _FilterCompiler(mapping, bound).visit(bound.ast)


class JsonArray:
    """The elements of a multi-valued attribute kept as a JSON array in the document."""

    def __init__(self, document: ColumnElement[Any], keys: tuple[str, ...]) -> None:
        self._document = document
        self._keys = keys

    def any_element(self, condition: ElementCondition) -> ColumnElement[bool]:
        elements = array_elements(self._document, self._keys, name=None)

        def reader(sub_attribute: str | None) -> ValueReader:
            if sub_attribute is None:
                return ElementText(elements.c.value)
            return JsonValue(elements.c.value, (sub_attribute,))

        return exists(select(1).select_from(elements).where(condition(reader)))

    def is_absent(self) -> ColumnElement[bool]:
        return not_(json_is_set(self._document, self._keys))


class _FilterCompiler:
    def __init__(self, mapping: ResourceMapping, scim_filter: ScimFilter[Any]) -> None:
        self._mapping = mapping
        self._filter = scim_filter

    # -- the tree -----------------------------------------------------------------------

    def visit(self, node: Any) -> ColumnElement[bool]:
        if isinstance(node, LogicalExpr):
            terms = [self.visit(term) for term in node.terms]
            return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)
        if isinstance(node, Not):
            return not_(self.visit(node.expr))
        if isinstance(node, Comparison):
            return self._comparison(node)
        if isinstance(node, Present):
            return self._present(node.attr_path)
        if isinstance(node, ValuePath):
            return self._value_path(node)
        raise InvalidFilterException(detail=f"filter expression {node} is not supported")

    def _resolve(self, path: AttrPath, for_comparison: bool = False) -> AttributeBinding:
        if for_comparison:
            binding = self._filter.resolve_comparison(path, strict=True)
        else:
            binding = self._filter.resolve(path, strict=True)
        assert binding is not None  # a bound filter always resolves, or raises
        reason = self._mapping.unsupported.get(self._mapping.key(binding)) or (
            self._mapping.unsupported.get(self._mapping.head_key(binding))
        )
        if reason:
            raise InvalidFilterException(detail=reason)
        return binding

    # -- comparisons --------------------------------------------------------------------

    def _comparison(self, node: Comparison) -> ColumnElement[bool]:
        binding = self._resolve(node.attr_path, for_comparison=True)
        value = _coerce(binding, node)
        if not binding.is_multivalued:
            return _compare(self._single(binding), binding, node.op, value)
        source, sub_attribute = self._elements(binding)

        def matches(reader: Any) -> ColumnElement[bool]:
            return _compare(reader(sub_attribute), binding, node.op, value)

        if value is None and node.op in (Op.eq, Op.ne):
            # `emails.value eq null` holds when there are no emails at all, or one without
            # a value; `ne null` is its negation (scim2-models reads it the same way).
            missing = or_(source.is_absent(), source.any_element(_matches_null(sub_attribute)))
            return missing if node.op == Op.eq else not_(missing)
        if node.op == Op.ne:
            # "ne" on a multi-valued attribute: no value equals the operand.
            return not_(
                source.any_element(
                    lambda reader: not_(_compare(reader(sub_attribute), binding, Op.ne, value))
                )
            )
        return source.any_element(matches)

    # -- presence -----------------------------------------------------------------------

    def _present(self, path: AttrPath) -> ColumnElement[bool]:
        binding = self._resolve(path)
        if binding.is_multivalued:
            source, sub_attribute = self._elements(binding, for_presence=True)
            if sub_attribute is None and _is_complex(binding.field_type):
                return source.any_element(
                    lambda reader: self._complex_present(binding, reader, element=True)
                )
            return source.any_element(
                lambda reader: _present(reader(sub_attribute), binding.target_type)
            )
        if binding.sub_field_name is None and _is_complex(binding.field_type):
            return self._complex_present(binding, None, element=False)
        return _present(self._single(binding), binding.target_type)

    def _complex_present(
        self, binding: AttributeBinding, reader: Any, element: bool
    ) -> ColumnElement[bool]:
        """A complex value is present when any of its sub-attributes is (RFC 7644 §3.4.2.2)."""
        model = binding.field_type
        assert model is not None and issubclass(model, BaseModel)
        terms = []
        for field_name in model.model_fields:
            sub_type = _unwrap(model.get_field_root_type(field_name))
            wire = wire_name(model, field_name)
            if element:
                sub_reader = reader(wire)
            else:
                sub_reader = self._sub_reader(binding, wire)
                if sub_reader is None:
                    continue
            if isinstance(sub_reader, ConstantValue):
                return true()
            terms.append(_present(sub_reader, sub_type))
        return or_(*terms) if terms else false()

    def _sub_reader(self, binding: AttributeBinding, wire: str) -> ValueReader | None:
        """The reader of one sub-attribute of a single-valued complex attribute."""
        key = f"{self._mapping.key(binding)}.{wire.lower()}"
        if key in self._mapping.unsupported:
            return None
        if key in self._mapping.constants:
            return ConstantValue(self._mapping.constants[key])
        if key in self._mapping.columns:
            return self._mapping.columns[key]
        return JsonValue(self._mapping.document, (*self._mapping.storage_keys(binding), wire))

    # -- value selections ---------------------------------------------------------------

    def _value_path(self, node: ValuePath) -> ColumnElement[bool]:
        if node.sub_attr is not None:
            raise InvalidFilterException(detail=f"{node} is a PATCH path, not a filter")
        head = self._resolve(node.attr_path)
        if not head.is_multivalued:
            raise InvalidFilterException(detail=f"{node.attr_path} is not multi-valued")
        source, _ = self._elements(head, for_presence=True)
        return source.any_element(
            lambda reader: self._element_filter(head, node.val_filter, reader)
        )

    def _element_filter(
        self, head: AttributeBinding, node: Any, reader: Any
    ) -> ColumnElement[bool]:
        """A filter inside `attr[...]`, evaluated on one element."""
        if isinstance(node, LogicalExpr):
            terms = [self._element_filter(head, term, reader) for term in node.terms]
            return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)
        if isinstance(node, Not):
            return not_(self._element_filter(head, node.expr, reader))
        if isinstance(node, ValuePath):
            raise InvalidFilterException(detail="a value selection cannot hold another")
        if not isinstance(node, Comparison | Present):
            raise InvalidFilterException(detail=f"filter expression {node} is not supported")
        path = node.attr_path
        if path.uri is not None or path.sub_attr is not None:
            raise InvalidFilterException(
                detail=f"{path} inside {head.field_name}[...] must name one of its sub-attributes"
            )
        if not _is_complex(head.field_type):
            # A list of strings (`schemas`): `value` stands for the element itself.
            if path.attr.lower() != "value":
                raise InvalidFilterException(
                    detail=f"the values of {_head_name(head)} have no sub-attribute {path.attr}"
                )
            element_binding = head
            element_reader = reader(None)
        else:
            element_binding = self._resolve(
                AttrPath(_head_path(head).attr, path.attr, _head_path(head).uri)
            )
            element_reader = reader(wire_name(head.field_type, element_binding.sub_field_name))
        if isinstance(node, Present):
            return _present(element_reader, element_binding.target_type)
        value = _coerce(element_binding, node)
        return _compare(element_reader, element_binding, node.op, value)

    # -- where values live --------------------------------------------------------------

    def _single(self, binding: AttributeBinding) -> ValueReader:
        key = self._mapping.key(binding)
        if key in self._mapping.constants:
            return ConstantValue(self._mapping.constants[key])
        if key in self._mapping.columns:
            return self._mapping.columns[key]
        return JsonValue(self._mapping.document, self._mapping.storage_keys(binding))

    def _elements(
        self, binding: AttributeBinding, for_presence: bool = False
    ) -> tuple[ElementSource, str | None]:
        """Where a multi-valued attribute's elements live, and the sub-attribute compared."""
        head_key = self._mapping.head_key(binding)
        source = self._mapping.element_sources.get(head_key)
        keys = self._mapping.storage_keys(binding)
        sub_attribute = keys[-1] if binding.sub_field_name is not None else None
        if source is None:
            head_keys = keys[:-1] if binding.sub_field_name is not None else keys
            source = JsonArray(self._mapping.document, head_keys)
        if sub_attribute is None and not for_presence and _is_complex(binding.field_type):
            raise InvalidFilterException(
                detail=f"{_head_name(binding)} is complex: compare one of its sub-attributes"
            )
        return source, sub_attribute


def _matches_null(sub_attribute: str | None) -> ElementCondition:
    return lambda reader: not_(reader(sub_attribute).is_set())


def _head_path(binding: AttributeBinding) -> AttrPath:
    """The AttrPath of the attribute holding a binding (its head, without sub-attribute)."""
    urn = binding.urn
    schema = str(getattr(binding.model, "__schema__", "") or "")
    name = urn[len(schema) + 1 :] if schema and urn.startswith(schema + ":") else urn
    return AttrPath(name.split(".", 1)[0], None, schema or None)


def _head_name(binding: AttributeBinding) -> str:
    return _head_path(binding).attr


def _is_complex(type_: Any) -> bool:
    return isinstance(type_, type) and issubclass(type_, BaseModel)


def _unwrap(type_: Any) -> Any:
    metadata = getattr(type_, "__metadata__", None)
    return type_.__origin__ if metadata else type_


def _check_text(value: str) -> None:
    if "\x00" in value:
        raise InvalidFilterException(detail="a filter cannot contain the NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidFilterException(detail="a filter must be valid Unicode") from None


def _coerce(binding: AttributeBinding, node: Comparison) -> Any:
    """The comparison value in the attribute's Python type, as ScimFilter.match reads it."""
    value = coerce_value(binding, node.value, node.op)
    if isinstance(value, str):
        _check_text(value)
    return value


def _compare(
    reader: ValueReader, binding: AttributeBinding, op: Op, value: Any
) -> ColumnElement[bool]:
    """One comparison of a single value, two-valued (never NULL)."""
    target = binding.target_type
    if value is None:
        if op == Op.eq:
            return not_(reader.is_set())
        if op == Op.ne:
            return reader.is_set()
        return false()
    kind = attribute_kind(target)
    if kind == "complex":
        raise InvalidFilterException(
            detail=f"{binding.urn} is complex: compare one of its sub-attributes"
        )
    if kind == "boolean":
        if op not in (Op.eq, Op.ne) or not isinstance(value, bool):
            raise InvalidFilterException(
                detail=f"{binding.urn} compares by eq or ne with a boolean"
            )
        matched = reader.boolean_is(value)
        return matched if op == Op.eq else not_(matched)
    if kind == "dateTime":
        return _compare_datetime(reader, binding, op, value)
    if kind == "string":
        return _compare_string(reader, binding, op, value)
    raise InvalidFilterException(detail=f"{binding.urn}: {kind} attributes cannot be compared")


def attribute_kind(target: Any) -> str:
    """The SCIM type of an attribute, from its Python type."""
    if _is_complex(target):
        return "complex"
    if isinstance(target, type):
        for python_type, kind in _KINDS:
            if issubclass(target, python_type):
                return kind
    # str, references, EmailStr and string enumerations
    return "string"


_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (datetime, "dateTime"),
    (bytes, "binary"),
    (int, "integer"),
    (float, "decimal"),
    (Decimal, "decimal"),
)


def _compare_string(
    reader: ValueReader, binding: AttributeBinding, op: Op, value: Any
) -> ColumnElement[bool]:
    if not isinstance(value, str):
        raise InvalidFilterException(detail=f"{binding.urn} compares with a string")
    expected = binding.comparable(unicodedata.normalize("NFC", value))
    text = reader.text()
    indexed = isinstance(reader, ColumnValue) and reader.lower_index
    if indexed and not binding.case_exact and op == Op.eq and expected.isascii():
        # lower(column) is what the unique index holds.
        return folded_equals(text, expected)
    if binding.case_exact and op == Op.eq:
        return exactly_equals(text, expected)
    actual = text if binding.case_exact else casefold(text)
    if op == Op.eq:
        return and_(text.is_not(None), actual == expected)
    if op == Op.ne:
        return or_(text.is_(None), actual != expected)
    if op == Op.co:
        return and_(text.is_not(None), contains(actual, expected))
    if op == Op.sw:
        return and_(text.is_not(None), starts_with(actual, expected))
    if op == Op.ew:
        return and_(text.is_not(None), ends_with(actual, expected))
    ordered = code_point_order(actual)
    comparisons = {
        Op.gt: ordered > expected,
        Op.ge: ordered >= expected,
        Op.lt: ordered < expected,
        Op.le: ordered <= expected,
    }
    return and_(text.is_not(None), comparisons[op])


def _compare_datetime(
    reader: ValueReader, binding: AttributeBinding, op: Op, value: Any
) -> ColumnElement[bool]:
    column = reader.datetime()
    if column is None:
        raise InvalidFilterException(detail=f"{binding.urn}: cannot compare this dateTime")
    if op in _SUBSTRING or not isinstance(value, datetime):
        raise InvalidFilterException(detail=f"{binding.urn} compares with a dateTime by {op}")
    if value.tzinfo is None:
        raise InvalidFilterException(
            detail=f"{binding.urn}: give the dateTime a time zone, as in 2024-01-31T09:00:00Z"
        )
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:59:59-14:00 is a valid dateTime whose UTC instant no datetime holds.
        raise InvalidFilterException(
            detail=f"{binding.urn}: {value.isoformat()} is outside the range of dateTime"
        ) from None
    comparisons = {
        Op.eq: column == moment,
        Op.gt: column > moment,
        Op.ge: column >= moment,
        Op.lt: column < moment,
        Op.le: column <= moment,
    }
    if op == Op.ne:
        return or_(column.is_(None), column != moment)
    return and_(column.is_not(None), comparisons[op])


def _present(reader: ValueReader, target: Any) -> ColumnElement[bool]:
    """RFC 7644 `pr`: a non-empty string, any other non-null value."""
    if isinstance(reader, ConstantValue):
        return true()
    if attribute_kind(target) in ("string", "binary"):
        text = reader.text()
        return and_(text.is_not(None), text != "")
    return reader.is_set()
