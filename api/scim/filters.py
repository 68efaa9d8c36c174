"""SCIM filter expressions (RFC 7644 §3.4.2.2) compiled to SQL over the directory.

The parsed tree comes from scim2-models; this module only maps its nodes onto columns. What it
cannot translate exactly is refused with `invalidFilter`: a filter is never widened.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path.expressions import (
    AttrPath,
    CompareOperator,
    Comparison,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
)
from sqlalchemy import ColumnElement, and_, func, not_, or_
from sqlalchemy.orm import InstrumentedAttribute

from api.scim.schemas import CORE_USER_SCHEMA
from models.tables import DirectoryUser

# Attribute paths (lower case, without the core schema URN) backed by an indexed column.
# `case_exact` follows RFC 7643: userName is caseExact false, ids and externalId are true.
_USER_COLUMNS: dict[str, tuple[InstrumentedAttribute[Any], bool]] = {
    "id": (DirectoryUser.id, True),
    "username": (DirectoryUser.user_name, False),
    "externalid": (DirectoryUser.external_id, True),
    "displayname": (DirectoryUser.display_name, False),
    "active": (DirectoryUser.active, True),
    "meta.created": (DirectoryUser.created_at, True),
    "meta.lastmodified": (DirectoryUser.updated_at, True),
}


def compile_user_filter(expression: str) -> ColumnElement[bool]:
    """The SQL condition for a User filter; raises InvalidFilterException for what it cannot do."""
    try:
        node = ScimFilter(expression).ast
    except (InvalidFilterException, ValueError) as error:
        raise InvalidFilterException(detail=f"cannot parse filter: {error}") from None
    return _compile(node)


def _compile(node: Any) -> ColumnElement[bool]:
    if isinstance(node, LogicalExpr):
        terms = [_compile(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)
    if isinstance(node, Not):
        return not_(_compile(node.expr))
    if isinstance(node, Present):
        column, _ = _column(node.attr_path)
        if column.type.python_type is str:
            return and_(column.is_not(None), column != "")
        return column.is_not(None)
    if isinstance(node, Comparison):
        return _compare(node)
    raise InvalidFilterException(detail=f"filter expression {node} is not supported")


def _column(path: AttrPath) -> tuple[InstrumentedAttribute[Any], bool]:
    if path.uri is not None and path.uri.lower() != CORE_USER_SCHEMA.lower():
        raise InvalidFilterException(detail=f"cannot filter on {path}")
    key = path.attr.lower() + (f".{path.sub_attr.lower()}" if path.sub_attr else "")
    if key not in _USER_COLUMNS:
        raise InvalidFilterException(detail=f"cannot filter on {path}")
    return _USER_COLUMNS[key]


def _compare(node: Comparison) -> ColumnElement[bool]:
    column, case_exact = _column(node.attr_path)
    value = node.value
    python_type = column.type.python_type
    if python_type is bool:
        if not isinstance(value, bool) or node.op not in (CompareOperator.eq, CompareOperator.ne):
            raise InvalidFilterException(
                detail=f"{node.attr_path} compares with true or false, by eq or ne"
            )
        return column.is_(value) if node.op == CompareOperator.eq else column.is_not(value)
    if value is None:
        if node.op == CompareOperator.eq:
            return column.is_(None)
        if node.op == CompareOperator.ne:
            return column.is_not(None)
        raise InvalidFilterException(detail=f"{node.op} null is not a comparison")
    if not isinstance(value, str):
        raise InvalidFilterException(detail=f"{node.attr_path} compares with a string")
    if python_type is not str:
        value = _parse_datetime(value, node.attr_path)
        target: Any = column
    elif case_exact:
        target = column
    else:
        target, value = func.lower(column), value.lower()
    return _OPERATORS[node.op](target, value)


def _parse_datetime(value: str, path: AttrPath) -> Any:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidFilterException(detail=f"{path} compares with a dateTime") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_OPERATORS = {
    CompareOperator.eq: lambda c, v: c == v,
    CompareOperator.ne: lambda c, v: or_(c != v, c.is_(None)),
    CompareOperator.co: lambda c, v: c.like(f"%{_like_escape(v)}%", escape="\\"),
    CompareOperator.sw: lambda c, v: c.like(f"{_like_escape(v)}%", escape="\\"),
    CompareOperator.ew: lambda c, v: c.like(f"%{_like_escape(v)}", escape="\\"),
    CompareOperator.gt: lambda c, v: c > v,
    CompareOperator.ge: lambda c, v: c >= v,
    CompareOperator.lt: lambda c, v: c < v,
    CompareOperator.le: lambda c, v: c <= v,
}
