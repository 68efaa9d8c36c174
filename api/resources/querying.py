"""List, search and projection for one resource type, shared by its GET and POST .search."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import falcon
from pydantic import ValidationError
from sqlalchemy import ColumnElement

from api.errors import ScimError, scim_error_from
from api.request import read_body, scim_base_url
from api.scim.cursors import CursorCodec
from api.scim.listing import (
    ExactLookup,
    ExactLookups,
    InvalidListRequest,
    WalkPositions,
    list_parameters,
    list_response,
    page_response,
    plan_list,
    search_from_body,
    search_from_parameters,
)
from api.scim.projection import Projection
from api.scim.sql.mapping import ResourceMapping
from models.core.paging import FetchedPage, PageSpec
from models.directory.lookup import ExactMatch

# (organization id, filter condition, page) -> the page's rows
FetchPage = Callable[[int, ColumnElement[bool] | None, PageSpec], FetchedPage]
# (organization id, column compared, value, count) -> the first `count` matches
FindExact = Callable[[int, ExactMatch, str, int], FetchedPage]
# (row, base URL) -> the resource's JSON
Render = Callable[[Any, str], dict[str, Any]]


@dataclass(frozen=True)
class SearchShare:
    """One resource type's part of a search over every type: its first matches, with keys."""

    total: int
    # (sort key, the resource rendered and projected), in this type's order.
    entries: list[tuple[tuple[Any, ...], dict[str, Any]]]
    descending: bool
    start_index: int
    count: int


class ResourceQueries:
    """Answers list and search requests, and projects single resources, for one type."""

    def __init__(
        self,
        mapping: ResourceMapping,
        fetch: FetchPage,
        render: Render,
        max_page_size: int,
        codec: CursorCodec,
        find_exact: FindExact | None = None,
    ) -> None:
        """`find_exact`, when given, answers the exact lookups `ExactLookups` recognises."""
        self.mapping = mapping
        self._fetch = fetch
        self._render = render
        self._max_page_size = max_page_size
        self._codec = codec
        self._walks = WalkPositions()
        self._find_exact = find_exact
        self._exact_lookups = ExactLookups(mapping, max_page_size) if find_exact else None

    def list(self, req: falcon.Request, resp: falcon.Response) -> None:
        """GET on the resource type's endpoint."""
        try:
            parameters = list_parameters(req.params)
        except InvalidListRequest as error:
            raise scim_error_from(error) from None
        lookup = self._exact_lookups.recognise(parameters) if self._exact_lookups else None
        if lookup is not None and self._answer_exact(req, resp, lookup):
            return
        try:
            search = search_from_parameters(parameters, self.mapping)
        except (ValidationError, InvalidListRequest) as error:
            raise scim_error_from(error) from None
        self._answer(req, resp, search)

    def search(self, req: falcon.Request, resp: falcon.Response, body: Any = None) -> None:
        """POST .search with a SearchRequest body (read here unless the caller already did)."""
        if body is None:
            body = read_body(req)
        try:
            search = search_from_body(body, self.mapping)
        except (ValidationError, InvalidListRequest) as error:
            raise scim_error_from(error) from None
        self._answer(req, resp, search)

    def share(self, req: falcon.Request, body: Any) -> SearchShare:
        """This type's part of a root search: enough of its first matches to fill the page.

        Refuses (like `search`) a request this type cannot answer, such as a filter on an
        attribute it does not have; the root search then leaves the type out.
        """
        try:
            search = search_from_body(body, self.mapping)
        except (ValidationError, InvalidListRequest) as error:
            raise scim_error_from(error) from None
        if search.cursor is not None:
            raise ScimError(
                400,
                "cursor pagination is per resource type: use /Users/.search or /Groups/.search",
                "invalidValue",
            )
        tenant = req.context.tenant
        plan = plan_list(search, self.mapping, tenant.id, self._max_page_size, self._codec)
        assert plan.start_index is not None
        window = PageSpec(
            order_by=plan.ordering.order_by(),
            keys=plan.ordering.keys,
            limit=plan.start_index - 1 + plan.page.limit,
        )
        fetched = self._fetch(tenant.id, plan.condition, window)
        base_url = scim_base_url(req)
        entries = [
            (key, plan.projection.apply(self._render(row, base_url)))
            for row, key in zip(fetched.rows, fetched.keys, strict=True)
        ]
        return SearchShare(
            total=fetched.total or 0,
            entries=entries,
            descending=plan.ordering.descending,
            start_index=plan.start_index,
            count=plan.page.limit,
        )

    def projection(self, req: falcon.Request) -> Projection:
        """`attributes` / `excludedAttributes` of a request on a single resource."""
        attributes = _names(req.get_param_as_list("attributes"))
        excluded = _names(req.get_param_as_list("excludedAttributes"))
        if attributes and excluded:
            raise scim_error_from(
                InvalidListRequest("use either attributes or excludedAttributes, not both")
            )
        return Projection.parse(attributes, excluded, self.mapping.schema, self._extensions())

    def _answer(self, req: falcon.Request, resp: falcon.Response, search: Any) -> None:
        tenant = req.context.tenant
        plan = plan_list(
            search, self.mapping, tenant.id, self._max_page_size, self._codec, self._walks
        )
        fetched = self._fetch(tenant.id, plan.condition, plan.page)
        self._walks.remember(plan, fetched)
        base_url = scim_base_url(req)
        resp.media = page_response(
            plan, fetched, lambda row: self._render(row, base_url), self._codec
        )

    def _answer_exact(
        self, req: falcon.Request, resp: falcon.Response, lookup: ExactLookup
    ) -> bool:
        """Answer an exact lookup from its one query, unless it found more than one page."""
        assert self._find_exact is not None
        tenant = req.context.tenant
        fetched = self._find_exact(tenant.id, lookup.match, lookup.value, lookup.count)
        if fetched.more:
            # Rare (an externalId many users share): the general path counts them all.
            return False
        base_url = scim_base_url(req)
        resources = [self._render(row, base_url) for row in fetched.rows]
        resp.media = list_response(resources, len(resources), 1)
        return True

    def _extensions(self) -> list[str]:
        return [str(schema) for schema in self.mapping.model.get_extension_models()]


def _names(values: list[str] | None) -> list[str]:
    return [name.strip() for value in values or () for name in value.split(",") if name.strip()]
