"""The ceiling: a Falcon app that answers every request with one fixed, small JSON body.

    gunicorn -c deploy/gunicorn.conf.py bench.noop:app

Served on scimgate's gunicorn configuration and driven by the same load generator, it shows
what the machine, gunicorn and the load generator allow before scimgate does any work. The
body reads as an empty ListResponse (so a create step goes on to POST) that also carries an
`id` (so a POST "creates" something).
"""

from __future__ import annotations

import falcon

BODY = (
    b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],'
    b'"totalResults":0,"Resources":[],"id":"00000000-0000-0000-0000-000000000000"}'
)


class Fixed:
    """Reads the body, as a real responder must, and answers BODY."""

    def __init__(self, status: str) -> None:
        self._status = status

    def _answer(self, req: falcon.Request, resp: falcon.Response, **_params: str) -> None:
        req.bounded_stream.read()
        resp.status = self._status
        resp.content_type = "application/scim+json"
        resp.data = BODY

    on_get = on_put = on_patch = on_delete = _answer

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_params: str) -> None:
        self._answer(req, resp)
        resp.status = falcon.HTTP_201


def create_app() -> falcon.App:
    app = falcon.App()
    resource = Fixed(falcon.HTTP_200)
    for route in (
        "/healthz",
        "/scim/v2/{organization}/{collection}",
        "/scim/v2/{organization}/{collection}/{item}",
    ):
        app.add_route(route, resource)
    return app


app = create_app()
