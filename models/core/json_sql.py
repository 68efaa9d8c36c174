"""SQL over JSON documents and text that means the same on PostgreSQL and SQLite.

Each construct here compiles to the native form of each backend: JSONB operators on
PostgreSQL, the JSON1 functions on SQLite. Callers (the filter compiler) build one expression
and never ask which database they talk to.

What "the same" means, exactly:
- `casefold(x)` lowers a string as Python's `str.lower` does. PostgreSQL's `lower()` in a
  UTF-8 database does that for every character but a few with special casing (U+0130);
  SQLite's built-in `lower()` folds ASCII only, so on SQLite it calls `scim_casefold`, a
  function every connection registers (see `register_sqlite_functions`).
- Ordering compares code points: `COLLATE "C"` on PostgreSQL (UTF-8 bytes sort in code
  point order), SQLite's default BINARY collation.
- `contains(haystack, needle)` is exact and case-sensitive on both (no LIKE, which SQLite
  folds for ASCII and which would need escaping).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Boolean, String, func, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

SQLITE_CASEFOLD = "scim_casefold"

# Keys come from SCIM schemas (attribute names and schema URNs), never from clients; this
# pattern is checked anyway, so a key can always be inlined as a literal safely.
_SAFE_KEY = re.compile(r"[A-Za-z0-9$_.:\-]+")


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Make `scim_casefold` available on a SQLite connection (Python's `str.lower`)."""
    dbapi_connection.create_function(SQLITE_CASEFOLD, 1, _casefold, deterministic=True)


def _casefold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


# A path is object keys (str) and array positions (int).
JsonPath = Sequence[str | int]


def _keys(keys: JsonPath) -> tuple[str | int, ...]:
    for key in keys:
        if isinstance(key, int):
            continue
        if not _SAFE_KEY.fullmatch(key):
            raise ValueError(f"{key!r} cannot be used as a JSON key")
    return tuple(keys)


_T = TypeVar("_T")

# The path (and expected value) are part of the SQL text, so they must be part of the
# statement cache key too: two filters differing only in a path must not share SQL.
_WITH_KEYS = [
    *FunctionElement._traverse_internals,
    ("keys", InternalTraversal.dp_plain_obj),
]


def _only(element: FunctionElement[Any]) -> Any:
    """The single argument of a construct."""
    (argument,) = element.clauses
    return argument


def _sqlite_path(keys: JsonPath) -> str:
    steps = (f"[{key}]" if isinstance(key, int) else f'."{key}"' for key in keys)
    return "'$" + "".join(steps) + "'"


def _postgresql_path(keys: JsonPath) -> str:
    return "'{" + ",".join(f'"{key}"' for key in keys) + "}'"


class _AtPath(FunctionElement[_T]):
    """A function of a JSON document and a path into it; each kind says what it reads there."""

    inherit_cache = True

    _traverse_internals = _WITH_KEYS

    def __init__(self, document: ColumnElement[Any], keys: JsonPath) -> None:
        self.keys = _keys(keys)
        super().__init__(document)


class json_text(_AtPath[str]):
    """The string at a path of a JSON value, or NULL when it is missing or JSON null.

    Only meaningful where the schema says the value is a string; documents are validated
    before they are stored, so it is.
    """

    type = String()
    inherit_cache = True


@compiles(json_text, "sqlite")
def _json_text_sqlite(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    document = compiler.process(_only(element), **kw)
    return f"json_extract({document}, {_sqlite_path(element.keys)})"


@compiles(json_text, "postgresql")
def _json_text_postgresql(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    document = compiler.process(_only(element), **kw)
    return f"({document} #>> {_postgresql_path(element.keys)})"


class json_boolean_is(_AtPath[bool]):
    """Whether the value at a path is the JSON boolean given: never NULL."""

    type = Boolean()
    inherit_cache = True

    _traverse_internals = [*_WITH_KEYS, ("value", InternalTraversal.dp_plain_obj)]  # noqa: RUF012

    def __init__(self, document: ColumnElement[Any], keys: JsonPath, value: bool) -> None:
        self.value = bool(value)
        super().__init__(document, keys)


@compiles(json_boolean_is, "sqlite")
def _json_boolean_sqlite(element: json_boolean_is, compiler: SQLCompiler, **kw: Any) -> str:
    document = compiler.process(_only(element), **kw)
    expected = "true" if element.value else "false"
    return f"coalesce(json_type({document}, {_sqlite_path(element.keys)}) = '{expected}', 0)"


@compiles(json_boolean_is, "postgresql")
def _json_boolean_postgresql(element: json_boolean_is, compiler: SQLCompiler, **kw: Any) -> str:
    document = compiler.process(_only(element), **kw)
    expected = "true" if element.value else "false"
    path = _postgresql_path(element.keys)
    return f"coalesce(({document} #> {path}) = '{expected}'::jsonb, false)"


class json_is_set(_AtPath[bool]):
    """Whether a path of a JSON value holds anything but JSON null: never NULL."""

    type = Boolean()
    inherit_cache = True


@compiles(json_is_set, "sqlite")
def _json_is_set_sqlite(element: json_is_set, compiler: SQLCompiler, **kw: Any) -> str:
    document = compiler.process(_only(element), **kw)
    return f"coalesce(json_type({document}, {_sqlite_path(element.keys)}) <> 'null', 0)"


@compiles(json_is_set, "postgresql")
def _json_is_set_postgresql(element: json_is_set, compiler: SQLCompiler, **kw: Any) -> str:
    document = compiler.process(_only(element), **kw)
    path = _postgresql_path(element.keys)
    return f"coalesce(jsonb_typeof({document} #> {path}) <> 'null', false)"


class json_boolean(_AtPath[bool]):
    """The JSON boolean at a path as a SQL boolean (NULL when unset), for sorting."""

    type = Boolean()
    inherit_cache = True


@compiles(json_boolean, "sqlite")
def _json_boolean_value_sqlite(element: json_boolean, compiler: SQLCompiler, **kw: Any) -> str:
    document = compiler.process(_only(element), **kw)
    path = _sqlite_path(element.keys)
    return f"(CASE json_type({document}, {path}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"


@compiles(json_boolean, "postgresql")
def _json_boolean_value_postgresql(element: json_boolean, compiler: SQLCompiler, **kw: Any) -> str:
    document = compiler.process(_only(element), **kw)
    path = _postgresql_path(element.keys)
    return (
        f"(CASE jsonb_typeof({document} #> {path}) WHEN 'boolean' "
        f"THEN ({document} #> {path})::boolean END)"
    )


class json_elements(_AtPath[Any]):
    """The elements of the JSON array at a path, as a table with one column, `value`.

    Use as `json_elements(document, keys).table_valued(...)`; see `array_elements`.
    """

    inherit_cache = True


@compiles(json_elements, "sqlite")
def _json_elements_sqlite(element: json_elements, compiler: SQLCompiler, **kw: Any) -> str:
    document = compiler.process(_only(element), **kw)
    return f"json_each({document}, {_sqlite_path(element.keys)})"


@compiles(json_elements, "postgresql")
def _json_elements_postgresql(element: json_elements, compiler: SQLCompiler, **kw: Any) -> str:
    document = compiler.process(_only(element), **kw)
    path = _postgresql_path(element.keys)
    # A non-array (which validation rules out) yields no rows instead of an error.
    return (
        f"jsonb_array_elements(CASE WHEN jsonb_typeof({document} #> {path}) = 'array' "
        f"THEN {document} #> {path} END)"
    )


def array_elements(document: ColumnElement[Any], keys: JsonPath, name: str | None) -> Any:
    """A FROM-able alias over the elements of a JSON array; its `.c.value` is each element."""
    return json_elements(document, keys).table_valued("value").alias(name)


class json_element_text(FunctionElement[str]):
    """The text of a string element produced by `array_elements` (a list of strings)."""

    type = String()
    inherit_cache = True


@compiles(json_element_text, "sqlite")
def _json_element_text_sqlite(element: json_element_text, compiler: SQLCompiler, **kw: Any) -> str:
    # json_each's `value` column is already the SQL text of a string element.
    return compiler.process(element.clauses, **kw)


@compiles(json_element_text, "postgresql")
def _json_element_text_postgresql(
    element: json_element_text, compiler: SQLCompiler, **kw: Any
) -> str:
    return f"({compiler.process(element.clauses, **kw)} #>> '{{}}')"


class casefold(FunctionElement[str]):
    """A string lowered as Python's `str.lower` lowers it."""

    type = String()
    inherit_cache = True


@compiles(casefold, "sqlite")
def _casefold_sqlite(element: casefold, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_CASEFOLD}({compiler.process(element.clauses, **kw)})"


@compiles(casefold, "postgresql")
def _casefold_postgresql(element: casefold, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


class code_point_order(FunctionElement[str]):
    """A string that compares and sorts by code point, whatever the database's collation."""

    type = String()
    inherit_cache = True


@compiles(code_point_order, "sqlite")
def _code_point_order_sqlite(element: code_point_order, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)})"


@compiles(code_point_order, "postgresql")
def _code_point_order_postgresql(
    element: code_point_order, compiler: SQLCompiler, **kw: Any
) -> str:
    return f'(({compiler.process(element.clauses, **kw)}) COLLATE "C")'


class _contains(FunctionElement[bool]):
    type = Boolean()
    inherit_cache = True


@compiles(_contains, "sqlite")
def _contains_sqlite(element: _contains, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(instr({haystack}, {needle}) > 0)"


@compiles(_contains, "postgresql")
def _contains_postgresql(element: _contains, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(strpos({haystack}, {needle}) > 0)"


def contains(haystack: ColumnElement[str], needle: str) -> ColumnElement[bool]:
    """Whether `needle` occurs in `haystack`, case-sensitively (NULL when haystack is NULL)."""
    return _contains(haystack, literal(needle, String()))


def starts_with(text: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    """Whether `text` starts with `prefix`, case-sensitively, counted in code points."""
    return func.substr(text, 1, len(prefix)) == literal(prefix, String())


def ends_with(text: ColumnElement[str], suffix: str) -> ColumnElement[bool]:
    """Whether `text` ends with `suffix`, case-sensitively, counted in code points."""
    length = func.length(text)
    return (length >= len(suffix)) & (
        func.substr(text, length - len(suffix) + 1) == literal(suffix, String())
    )
