"""/orgs/{org}/audit: the organization's audit trail, paged by record id."""

from __future__ import annotations

import falcon

from api.admin.http import int_param, respond
from models.admin import Administration
from models.audit import AuditWriter


class AuditResource:
    def __init__(self, admin: Administration, writer: AuditWriter) -> None:
        self._admin = admin
        self._writer = writer

    def on_get(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        # This process's buffered SCIM records first, so an operator sees their own traffic;
        # other processes' records arrive within their flush interval.
        self._writer.flush()
        after = int_param(req, "after", 0)
        records = self._admin.audit(org, after, int_param(req, "limit", 100, minimum=1))
        respond(
            resp,
            {"records": records, "next_after": records[-1]["id"] if records else after},
        )
