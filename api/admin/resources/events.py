"""/orgs/{org}/events: the events feed, read by cursor (`after` a sequence number)."""

from __future__ import annotations

import falcon

from api.admin.http import int_param, respond
from models.admin.administration import EVENTS_PAGE_LIMIT, Administration
from models.core.limits import MAX_INTEGER


class EventsResource:
    def __init__(self, admin: Administration) -> None:
        self._admin = admin

    def on_get(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        # Sequence numbers are an INTEGER column.
        after = int_param(req, "after", 0, minimum=0, maximum=MAX_INTEGER)
        limit = int_param(req, "limit", 100, minimum=1, maximum=EVENTS_PAGE_LIMIT)
        events = self._admin.events(org, after, limit)
        respond(
            resp,
            {"events": events, "next_after": events[-1]["sequence"] if events else after},
        )
