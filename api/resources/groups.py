"""/Groups: create, read, list, replace, patch and delete directory groups and their members."""

from __future__ import annotations

from typing import Any

import falcon
from pydantic import ValidationError
from scim2_models import Context, SCIMException

from api.errors import scim_error_from
from api.request import if_none_match_hits, read_body, scim_base_url
from api.resources.querying import ResourceQueries
from api.scim.groups import parse_group, patch_group, render_group, wants_members
from models.directory.groups import (
    GroupChange,
    GroupMemberView,
    GroupService,
    ListedGroup,
    MembershipAction,
    MembershipStep,
)
from models.directory.tables import DirectoryGroup
from models.directory.users import etag


def render_listed_group(row: ListedGroup, base_url: str) -> dict[str, Any]:
    return render_group(row, row.members, base_url, etag(row.version))


class GroupsResource:
    """Groups; lists and searches go through the shared query machinery.

    `queries` holds two answerers keyed by whether members are loaded: a request that
    excludes members (as Entra ID's lookups do) never reads a membership row.
    """

    def __init__(self, groups: GroupService, queries: dict[bool, ResourceQueries]) -> None:
        self._groups = groups
        self._queries = queries

    def on_get(self, req: falcon.Request, resp: falcon.Response, organization: str) -> None:
        self._queries[_wants_members(req)].list(req, resp)

    def on_post_search(self, req: falcon.Request, resp: falcon.Response, organization: str) -> None:
        body = read_body(req)
        fields = (
            {str(key).lower(): value for key, value in body.items()}
            if isinstance(body, dict)
            else {}
        )
        with_members = wants_members(
            _joined(fields.get("attributes")), _joined(fields.get("excludedattributes"))
        )
        self._queries[with_members].search(req, resp, body)

    def on_post(self, req: falcon.Request, resp: falcon.Response, organization: str) -> None:
        write, refs = _parsed(read_body(req), Context.RESOURCE_CREATION_REQUEST)
        row = self._groups.create_group(req.context.tenant.id, write, refs or ())
        self._respond_with_members(req, resp, row, status=falcon.HTTP_201)

    def on_get_item(
        self, req: falcon.Request, resp: falcon.Response, organization: str, group_id: str
    ) -> None:
        row, members = self._groups.get_group(
            req.context.tenant.id, group_id, with_members=_wants_members(req)
        )
        if if_none_match_hits(req, etag(row.version)):
            resp.status = falcon.HTTP_304
            resp.set_header("ETag", etag(row.version))
            return
        self._respond(req, resp, row, members)

    def on_put_item(
        self, req: falcon.Request, resp: falcon.Response, organization: str, group_id: str
    ) -> None:
        write, refs = _parsed(read_body(req), Context.RESOURCE_REPLACEMENT_REQUEST)
        # A replacement without members has none (RFC 7644 §3.5.1).
        steps = [MembershipStep(MembershipAction.REPLACE, tuple(refs or ()))]
        row = self._groups.change_group(
            req.context.tenant.id,
            group_id,
            GroupChange(write=write, steps=steps),
            if_match=req.get_header("If-Match"),
        )
        self._respond_with_members(req, resp, row)

    def on_patch_item(
        self, req: falcon.Request, resp: falcon.Response, organization: str, group_id: str
    ) -> None:
        body = read_body(req)

        def patched(row: DirectoryGroup) -> GroupChange:
            return patch_group(row.document, row.id, body)

        row = self._groups.change_group(
            req.context.tenant.id, group_id, patched, if_match=req.get_header("If-Match")
        )
        # RFC 7644 §3.5.2 allows 204. The full resource would cost as much as the group is
        # large; a client that wants it back asks with attributes or excludedAttributes.
        if req.get_param("attributes") is None and req.get_param("excludedAttributes") is None:
            resp.status = falcon.HTTP_204
            resp.set_header("ETag", etag(row.version))
            return
        self._respond_with_members(req, resp, row)

    def on_delete_item(
        self, req: falcon.Request, resp: falcon.Response, organization: str, group_id: str
    ) -> None:
        self._groups.delete_group(
            req.context.tenant.id, group_id, if_match=req.get_header("If-Match")
        )
        resp.status = falcon.HTTP_204

    def _respond_with_members(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        row: DirectoryGroup,
        status: str = falcon.HTTP_200,
    ) -> None:
        members = None
        if _wants_members(req):
            members = self._groups.get_group(req.context.tenant.id, row.id)[1]
        self._respond(req, resp, row, members, status)

    def _respond(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        row: DirectoryGroup,
        members: list[GroupMemberView] | None,
        status: str = falcon.HTTP_200,
    ) -> None:
        body = render_group(row, members, scim_base_url(req), etag(row.version))
        resp.status = status
        resp.media = self._queries[members is not None].projection(req).apply(body)
        resp.set_header("ETag", etag(row.version))
        if status == falcon.HTTP_201:
            resp.location = body["meta"]["location"]


def _wants_members(req: falcon.Request) -> bool:
    return wants_members(req.get_param("attributes"), req.get_param("excludedAttributes"))


def _joined(value: Any) -> str | None:
    """A SearchRequest's attributes (a list, or a comma-separated string) as one string."""
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return value if isinstance(value, str) else None


def _parsed(body: Any, context: Context) -> tuple[Any, Any]:
    try:
        return parse_group(body, context)
    except (ValidationError, ValueError, SCIMException) as error:
        raise scim_error_from(error) from None
