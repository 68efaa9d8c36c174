"""/Users: create, read, list, replace, patch and delete directory users."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import falcon
from pydantic import ValidationError
from scim2_models import Context, SCIMException

from api.errors import scim_error_from
from api.request import if_none_match_hits, read_body, scim_base_url
from api.resources.querying import ResourceQueries
from api.scim.patch import patch_user_document
from api.scim.schemas import parse_user, restates, user_write, write_of
from models.directory.memberships import GroupRef
from models.directory.users import DirectoryService, StoredUser, UserView, UserWrite, etag

USER_RESOURCE_TYPE = "User"


def render_user(row: StoredUser, base_url: str, groups: Sequence[GroupRef] = ()) -> dict[str, Any]:
    """The User as clients read it; `groups` (read-only) when the caller looked them up."""
    body = {"id": row.id, **row.document}
    if groups:
        # Read-only, from the memberships: a user's groups are changed through /Groups.
        body["groups"] = [
            {
                "value": group.id,
                "display": group.display_name,
                "$ref": f"{base_url}/Groups/{group.id}",
                "type": "direct",
            }
            for group in groups
        ]
    body["meta"] = {
        "resourceType": USER_RESOURCE_TYPE,
        "created": row.created_at.isoformat(),
        "lastModified": row.updated_at.isoformat(),
        "location": f"{base_url}/Users/{row.id}",
        "version": etag(row.version),
    }
    return body


class UsersResource:
    def __init__(self, directory: DirectoryService, queries: ResourceQueries) -> None:
        self._directory = directory
        self._queries = queries

    def on_get(self, req: falcon.Request, resp: falcon.Response, organization: str) -> None:
        self._queries.list(req, resp)

    def on_post_search(self, req: falcon.Request, resp: falcon.Response, organization: str) -> None:
        self._queries.search(req, resp)

    def on_post(self, req: falcon.Request, resp: falcon.Response, organization: str) -> None:
        write = _write_from(read_body(req), Context.RESOURCE_CREATION_REQUEST)
        tenant = req.context.tenant
        user = self._directory.create_user(tenant.id, write, tenant.verified_domains)
        self._respond(req, resp, user, status=falcon.HTTP_201)

    def on_get_item(
        self, req: falcon.Request, resp: falcon.Response, organization: str, user_id: str
    ) -> None:
        row = self._directory.get_user(req.context.tenant.id, user_id)
        if if_none_match_hits(req, etag(row.version)):
            resp.status = falcon.HTTP_304
            resp.set_header("ETag", etag(row.version))
            return
        self._respond(req, resp, row)

    def on_put_item(
        self, req: falcon.Request, resp: falcon.Response, organization: str, user_id: str
    ) -> None:
        body = read_body(req)
        # Validated at most once, though the write is computed again under the row lock.
        validated = functools.cache(lambda: _write_from(body, Context.RESOURCE_REPLACEMENT_REQUEST))

        def replacement(current: StoredUser) -> UserWrite:
            return write_of(current.document) if restates(body, current.document) else validated()

        self._respond(req, resp, self._replace(req, user_id, replacement))

    def on_patch_item(
        self, req: falcon.Request, resp: falcon.Response, organization: str, user_id: str
    ) -> None:
        body = read_body(req)

        def patched(row: StoredUser) -> UserWrite:
            try:
                return user_write(patch_user_document(row.document, row.id, body))
            except (ValidationError, ValueError, SCIMException) as error:
                raise scim_error_from(error) from None

        self._respond(req, resp, self._replace(req, user_id, patched))

    def on_delete_item(
        self, req: falcon.Request, resp: falcon.Response, organization: str, user_id: str
    ) -> None:
        self._directory.delete_user(
            req.context.tenant.id, user_id, if_match=req.get_header("If-Match")
        )
        resp.status = falcon.HTTP_204

    def _replace(
        self, req: falcon.Request, user_id: str, write: Callable[[StoredUser], UserWrite]
    ) -> UserView:
        tenant = req.context.tenant
        return self._directory.replace_user(
            tenant.id,
            user_id,
            write,
            if_match=req.get_header("If-Match"),
            verified_domains=tenant.verified_domains,
        )

    def _respond(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        user: UserView,
        status: str = falcon.HTTP_200,
    ) -> None:
        body = render_user(user, scim_base_url(req), user.groups)
        resp.status = status
        resp.media = self._queries.projection(req).apply(body)
        resp.set_header("ETag", etag(user.version))
        if status == falcon.HTTP_201:
            resp.location = body["meta"]["location"]


def _write_from(body: Any, context: Context) -> UserWrite:
    try:
        return user_write(parse_user(body, context))
    except (ValidationError, ValueError) as error:
        raise scim_error_from(error) from None
