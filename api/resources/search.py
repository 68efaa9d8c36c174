"""POST /.search at the server root: a SearchRequest over every resource type (RFC 7644 §3.4.3)."""

from __future__ import annotations

import falcon

from api.resources.querying import ResourceQueries


class RootSearchResource:
    """Searches the resource types the server serves.

    With one resource type the root search is that type's `.search`. Serving several means
    binding the request to their union (`SearchRequest[User | Group]`, where an attribute
    only one type declares is false on the others, RFC 7644 §3.4.2.1) and merging the pages
    in one order; that is for the resource type that makes it needed.
    """

    def __init__(self, resource_types: list[ResourceQueries]) -> None:
        if len(resource_types) != 1:
            raise ValueError("the root search merges one resource type so far")
        self._resource_types = resource_types

    def on_post(self, req: falcon.Request, resp: falcon.Response, organization: str) -> None:
        (only,) = self._resource_types
        only.search(req, resp)
