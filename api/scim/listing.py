"""List and search requests (RFC 7644 §3.4.2, §3.4.3; RFC 9865): parameters in, a plan out.

A GET's query string and a POST `.search` body become the same `SearchRequest` (validated by
scim2-models against the resource type), then a `ListPlan`: the SQL condition of the filter,
the total order, which page (by `startIndex`, or by cursor), and the projection of each
resource. Pagination:

- index (the default): `startIndex` is 1-based, `count` defaults to DEFAULT_PAGE_SIZE and is
  capped at the server's maximum page size; `itemsPerPage` is the number of Resources. An
  import walks every page in turn (`startIndex=1,101,201,...`): `WalkPositions` remembers
  where each page ended, so the next one seeks to that row's key instead of skipping every
  row before it, and need not count the users again while none came or went
  (models/core/paging.py uses what it remembers only while it still holds).
- cursor (RFC 9865): `cursor` empty asks for the first page, then `nextCursor` /
  `previousCursor` from each response. Keyset-based (see api/scim/cursors.py), so paging
  through a whole directory costs one indexed range query per page. `totalResults` is left
  out of cursor pages past a full first page: counting every page would make a full walk
  quadratic.

The lookup an IdP makes before every write (`userName eq "..."`, in one spelling, on the
first page) skips all of this: `ExactLookups` recognises it and a statement prepared once
answers it (models/directory/lookup.py), with the answer the general path would give.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from scim2_models import Context, InvalidCursorException, Resource, ScimFilter, SearchRequest

from api.scim.cursors import BACKWARD, FORWARD, CursorCodec, CursorPosition, cursor_scope
from api.scim.filter_limits import check_filter_size
from api.scim.projection import Projection
from api.scim.sql.filters import attribute_kind, compile_filter
from api.scim.sql.mapping import ResourceMapping
from api.scim.sql.sorting import Ordering, compile_sort
from models.core.paging import MAX_OFFSET, FetchedPage, PageSpec
from models.directory.lookup import ExactMatch

LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
# RFC 7644 §3.4.2.4 reads a startIndex below 1 as 1 and a count below 0 as 0 (scim2-models
# does), and a count above the maximum page size as that size. It sets no highest
# startIndex; one past every row a directory could hold would answer an empty page, but an
# offset that large is not one a database takes, so it is refused with the range instead.
MAX_START_INDEX = MAX_OFFSET + 1
SEARCH_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
DEFAULT_PAGE_SIZE = 100

# Query parameter names as RFC 7644 spells them, by their lower-case form: IdPs vary the case.
_QUERY_PARAMETERS = {
    name.lower(): name
    for name in (
        "filter",
        "sortBy",
        "sortOrder",
        "startIndex",
        "count",
        "attributes",
        "excludedAttributes",
        "cursor",
    )
}


class InvalidListRequest(ValueError):
    """A list request the server cannot answer: 400 invalidValue, with this message."""


def list_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """A GET's list parameters by their RFC 7644 names; others are left out."""
    body: dict[str, Any] = {}
    for raw_name, raw_value in params.items():
        name = _QUERY_PARAMETERS.get(raw_name.lower())
        if name is None:
            continue
        if isinstance(raw_value, list):
            if name not in ("attributes", "excludedAttributes"):
                raise InvalidListRequest(f"{name} is given more than once")
            raw_value = ",".join(raw_value)
        body[name] = raw_value
    if body.get("filter") == "":
        del body["filter"]
    return body


def search_from_parameters(body: dict[str, Any], mapping: ResourceMapping) -> SearchRequest[Any]:
    """The SearchRequest of list parameters (see `list_parameters`)."""
    return _validate(body, mapping)


def search_from_body(body: Any, mapping: ResourceMapping) -> SearchRequest[Any]:
    """The SearchRequest of a POST `.search` body."""
    if not isinstance(body, dict):
        raise InvalidListRequest("the body must be a SearchRequest object")
    schemas = body.get("schemas")
    if schemas is not None and SEARCH_REQUEST_SCHEMA not in (schemas or []):
        raise InvalidListRequest(f"the body's schemas must include {SEARCH_REQUEST_SCHEMA}")
    known = {key: value for key, value in body.items() if key.lower() != "schemas"}
    return _validate(known, mapping)


def _validate(body: dict[str, Any], mapping: ResourceMapping) -> SearchRequest[Any]:
    if isinstance(body.get("sortOrder"), str):
        body["sortOrder"] = body["sortOrder"].lower()
    if body.get("cursor") is not None and body.get("startIndex") not in (None, ""):
        raise InvalidListRequest("use either cursor or startIndex, not both")
    for name, value in body.items():
        # Before validation, which parses the filter (its key in any case): a huge one must
        # not reach the parser.
        if name.lower() == "filter" and isinstance(value, str):
            check_filter_size(value)
    body = {key: value for key, value in body.items() if value is not None}
    search = _search_request(mapping.model).model_validate(body, scim_ctx=Context.SEARCH_REQUEST)
    if search.start_index is not None and search.start_index > MAX_START_INDEX:
        raise InvalidListRequest(f"startIndex must be a whole number from 1 to {MAX_START_INDEX}")
    return search


@functools.cache
def _search_request(model: type[Resource[Any]]) -> type[SearchRequest[Any]]:
    """`SearchRequest[model]`: parametrising the generic class anew costs as much as a lookup."""
    return SearchRequest[model]  # type: ignore[valid-type]


# `attribute eq "value"` in the one spelling ExactLookups reads: an attribute named without
# its schema, single spaces, and a value of printable ASCII with neither quote nor backslash
# (no escape to decode, and nothing Unicode normalisation or special casing would change).
_EXACT_FILTER = re.compile(r'([A-Za-z][A-Za-z0-9_-]*) (?i:eq) "([ !#-\[\]-~]*)"', re.ASCII)
_EXACT_COUNT = re.compile(r"[1-9][0-9]{0,8}", re.ASCII)
_EXACT_PARAMETERS = frozenset({"filter", "startIndex", "count"})


@dataclass(frozen=True)
class ExactLookup:
    """A list request for the resources whose one column holds one value, and nothing else."""

    match: ExactMatch
    # The value as the column is compared with it: lowered unless the attribute is caseExact.
    value: str
    count: int


class ExactLookups:
    """Recognises the lookup IdPs make before every write, which a prepared statement answers.

    `GET /Users?filter=userName eq "bjensen@example.com"`, to which Okta adds `startIndex=1`
    and `count=100`: an equality on an attribute a column holds, on the first page, in the
    default order, with every attribute returned. Answered from a statement built once (see
    models/directory/lookup.py) instead of a SearchRequest validated by scim2-models and a filter
    compiled to a new statement, with the same result: the comparison is the compiler's own,
    and the value is prepared by the attribute's binding as the compiler prepares it.

    Anything else is left to the general path (`recognise` gives None), including every
    request that path would refuse.
    """

    def __init__(self, mapping: ResourceMapping, max_page_size: int) -> None:
        self._max_page_size = max_page_size
        self._attributes = _exact_attributes(mapping)

    def recognise(self, parameters: Mapping[str, Any]) -> ExactLookup | None:
        """The lookup `list_parameters` stand for, if they are one; else None."""
        if not parameters.keys() <= _EXACT_PARAMETERS or parameters.get("startIndex", "1") != "1":
            return None
        expression = parameters.get("filter")
        count = parameters.get("count", str(DEFAULT_PAGE_SIZE))
        if not isinstance(count, str) or not _EXACT_COUNT.fullmatch(count):
            return None
        matched = _EXACT_FILTER.fullmatch(expression) if isinstance(expression, str) else None
        if matched is None:
            return None
        attribute = self._attributes.get(matched[1].lower())
        if attribute is None:
            return None
        match, binding = attribute
        return ExactLookup(
            match, binding.comparable(matched[2]), min(int(count), self._max_page_size)
        )


def _exact_attributes(mapping: ResourceMapping) -> dict[str, tuple[ExactMatch, Any]]:
    """The core attributes a column holds that equality can compare there, by lower-case name.

    Each with its binding, resolved as the filter compiler resolves it: a caseExact one is
    compared as it is, one that is not through the index on lower(column), and any other
    (no such index) is left to the compiler.
    """
    prefix = mapping.schema.lower() + ":"
    attributes: dict[str, tuple[ExactMatch, Any]] = {}
    for key, column in mapping.columns.items():
        name = key.removeprefix(prefix)
        if name == key or "." in name or key in mapping.unsupported or key in mapping.constants:
            continue
        sample = ScimFilter[mapping.model](f'{name} eq "x"')  # type: ignore[name-defined]
        binding = sample.resolve_comparison(sample.ast.attr_path, strict=True)
        if binding is None or mapping.key(binding) != key or binding.is_multivalued:
            continue
        if attribute_kind(binding.target_type) != "string":
            continue
        if binding.case_exact or column.lower_index:
            attributes[name] = (ExactMatch(column.column, folded=not binding.case_exact), binding)
    return attributes


@dataclass(frozen=True)
class ListPlan:
    """What to fetch for one list request, and how to answer it."""

    mapping: ResourceMapping
    condition: Any
    ordering: Ordering
    page: PageSpec
    projection: Projection
    start_index: int | None
    cursor_scope: str | None
    # Index pages: what a remembered page end is valid for (the same query in the same
    # organization); see WalkPositions.
    walk_scope: str | None = None

    @property
    def uses_cursor(self) -> bool:
        return self.cursor_scope is not None


@dataclass(frozen=True)
class PageEnd:
    """Where an index page ended: its last row's sort key (encoded), with what it counted."""

    key: list[Any]
    total: int | None
    version: Any


class WalkPositions:
    """Where recent index pages ended, so the next page of a walk can start right there.

    Kept by the query (organization, resource type, filter, order) and the `startIndex` of
    the page that follows. A bounded cache of this process: a page it does not know skips
    rows as usual, and models/core/paging.py uses what it knows only while it still holds.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._ends: OrderedDict[tuple[str, int], PageEnd] = OrderedDict()
        self._lock = threading.Lock()

    def find(self, scope: str, start_index: int) -> PageEnd | None:
        """Where the page that ended just before `start_index` ended, if one did."""
        with self._lock:
            return self._ends.get((scope, start_index))

    def remember(self, plan: ListPlan, fetched: FetchedPage) -> None:
        """Note where an index page ended, if another page follows it."""
        if plan.walk_scope is None or plan.start_index is None or not fetched.more:
            return
        position = (plan.walk_scope, plan.start_index + len(fetched.rows))
        end = PageEnd(plan.ordering.encode(fetched.keys[-1]), fetched.total, fetched.version)
        with self._lock:
            self._ends[position] = end
            self._ends.move_to_end(position)
            while len(self._ends) > self._capacity:
                self._ends.popitem(last=False)


def plan_list(
    search: SearchRequest[Any],
    mapping: ResourceMapping,
    organization_id: int,
    max_page_size: int,
    codec: CursorCodec,
    walks: WalkPositions | None = None,
) -> ListPlan:
    """Compile a validated request into SQL pieces; invalidFilter/invalidCursor on failure."""
    condition = compile_filter(search.filter, mapping) if search.filter is not None else None
    ordering = compile_sort(search, mapping)
    count = DEFAULT_PAGE_SIZE if search.count is None else search.count
    count = min(max(count, 0), max_page_size)
    projection = Projection.parse(
        [str(path) for path in search.attributes or ()],
        [str(path) for path in search.excluded_attributes or ()],
        mapping.schema,
        [str(schema) for schema, _ in mapping.model.get_extension_models().items()],
    )
    scope = cursor_scope(
        organization_id, mapping.resource_type, str(search.filter or ""), ordering.signature
    )
    if search.cursor is None:
        start_index = search.start_index or 1
        ended = walks.find(scope, start_index) if walks is not None and start_index > 1 else None
        page = PageSpec(
            order_by=ordering.order_by(),
            keys=ordering.keys,
            limit=count,
            offset=start_index - 1,
            seek=None if ended is None else ordering.after(ordering.decode(ended.key)),
            known_total=None if ended is None else ended.total,
            known_version=None if ended is None else ended.version,
            # Without sortBy the order is creation time, then id: neither ever changes.
            fixed_order=search.sort_by is None,
        )
        return ListPlan(
            mapping, condition, ordering, page, projection, start_index, None, walk_scope=scope
        )

    position = codec.decode(scope, search.cursor) if search.cursor else None
    boundary = None
    backwards = False
    if position is not None:
        try:
            key = ordering.decode(position.key)
        except ValueError:
            raise InvalidCursorException(detail="the cursor does not fit this query") from None
        backwards = position.direction == BACKWARD
        boundary = ordering.after(key, reverse=backwards)
    page = PageSpec(
        order_by=ordering.order_by(reverse=backwards),
        keys=ordering.keys,
        limit=count,
        boundary=boundary,
        backwards=backwards,
        # Counting is cheap when the first page holds everything; otherwise it is left out.
        want_total=position is None or count == 0,
    )
    return ListPlan(mapping, condition, ordering, page, projection, None, scope)


def page_response(
    plan: ListPlan,
    fetched: FetchedPage,
    render: Callable[[Any], dict[str, Any]],
    codec: CursorCodec,
) -> dict[str, Any]:
    """The ListResponse body for a fetched page."""
    resources = [plan.projection.apply(render(row)) for row in fetched.rows]
    body: dict[str, Any] = {"schemas": [LIST_RESPONSE_SCHEMA]}
    if not plan.uses_cursor:
        body["totalResults"] = fetched.total
        body["startIndex"] = plan.start_index
        body["itemsPerPage"] = len(resources)
        body["Resources"] = resources
        return body
    if fetched.total is not None and (fetched.total == len(resources) or not plan.page.limit):
        body["totalResults"] = fetched.total
    body["itemsPerPage"] = len(resources)
    assert plan.cursor_scope is not None
    if fetched.keys:
        # Travelling forwards, `more` means a next page; backwards, a previous one. The
        # other direction exists whenever the request itself came from a cursor.
        came_from_cursor = plan.page.boundary is not None
        has_next = fetched.more if not plan.page.backwards else came_from_cursor
        has_previous = fetched.more if plan.page.backwards else came_from_cursor
        if has_next:
            last = CursorPosition(FORWARD, plan.ordering.encode(fetched.keys[-1]))
            body["nextCursor"] = codec.encode(plan.cursor_scope, last)
        if has_previous:
            first = CursorPosition(BACKWARD, plan.ordering.encode(fetched.keys[0]))
            body["previousCursor"] = codec.encode(plan.cursor_scope, first)
    body["Resources"] = resources
    return body


def list_response(resources: list[dict[str, Any]], total: int, start_index: int) -> dict[str, Any]:
    """A ListResponse of an index page (or of every resource at once, for discovery)."""
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
