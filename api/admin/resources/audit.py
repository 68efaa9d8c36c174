"""/orgs/{org}/audit: the organization's audit trail, paged by record id."""

from __future__ import annotations

import falcon

from api.admin.http import int_param, respond
from models.admin.administration import Administration
from models.audit.trail import MAX_PAGE, AuditWriter
from models.core.limits import MAX_BIGINT


class AuditResource:
    def __init__(self, admin: Administration, writer: AuditWriter) -> None:
        self._admin = admin
        self._writer = writer

    def on_get(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        # This process's buffered SCIM records first, so an operator sees their own traffic;
        # other processes' records arrive within their flush interval.
        self._writer.flush()
        # Audit record ids are a BIGINT column.
        after = int_param(req, "after", 0, minimum=0, maximum=MAX_BIGINT)
        limit = int_param(req, "limit", 100, minimum=1, maximum=MAX_PAGE)
        records = self._admin.audit(org, after, limit)
        respond(
            resp,
            {"records": records, "next_after": records[-1]["id"] if records else after},
        )
