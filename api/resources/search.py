"""POST /.search at the server root: a SearchRequest over every resource type (RFC 7644 §3.4.3)."""

from __future__ import annotations

import falcon

from api.errors import ScimError
from api.request import read_body
from api.resources.querying import ResourceQueries, SearchShare
from api.scim.listing import LIST_RESPONSE_SCHEMA


class RootSearchResource:
    """Searches every resource type the server serves, as one list in one order.

    Each type answers with its first startIndex - 1 + count matches in the requested order,
    with their sort keys; the pages are merged on those keys (the same total order each type
    uses: value, then creation time, then id). A type that cannot evaluate the filter or the
    sort attribute (a filter on `userName`, for Groups) is left out, and a request no type
    can answer is refused with the first type's error. Index pagination only: a cursor
    belongs to one resource type's order.
    """

    def __init__(self, resource_types: list[ResourceQueries]) -> None:
        self._resource_types = resource_types

    def on_post(self, req: falcon.Request, resp: falcon.Response, organization: str) -> None:
        body = read_body(req)
        shares: list[SearchShare] = []
        refusals: list[ScimError] = []
        for resource_type in self._resource_types:
            try:
                shares.append(resource_type.share(req, body))
            except ScimError as error:
                refusals.append(error)
        if not shares:
            raise refusals[0]
        first = shares[0]
        merged = sorted(
            (entry for share in shares for entry in share.entries),
            key=lambda entry: entry[0],
            reverse=first.descending,
        )
        offset = first.start_index - 1
        resources = [resource for _, resource in merged[offset : offset + first.count]]
        resp.media = {
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": sum(share.total for share in shares),
            "startIndex": first.start_index,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
