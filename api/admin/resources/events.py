"""/orgs/{org}/events: the events feed, read by cursor (`after` a sequence number)."""

from __future__ import annotations

import falcon

from api.admin.http import int_param, respond
from models.admin import Administration


class EventsResource:
    def __init__(self, admin: Administration) -> None:
        self._admin = admin

    def on_get(self, req: falcon.Request, resp: falcon.Response, org: str) -> None:
        after = int_param(req, "after", 0)
        events = self._admin.events(org, after, int_param(req, "limit", 100, minimum=1))
        respond(
            resp,
            {"events": events, "next_after": events[-1]["sequence"] if events else after},
        )
