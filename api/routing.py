"""Routes that say who may call them: the router refuses a route that declares nothing.

Authentication is decided by the route a request matched, never by its path string. A path
check is only as good as its author's idea of every spelling the router accepts (Falcon
ignores leading slashes, a server decodes `%2f`); the matched route template is what the
router itself decided, so an access rule keyed on it cannot be walked around.

Every `app.add_route` call names an `Access`. One that does not fails while the app is
built, so a route can never be public by omission.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import falcon
from falcon.routing import CompiledRouter


class Access(StrEnum):
    """Who may call a route."""

    # Anyone: liveness and readiness, and the SCIM discovery documents, which describe the
    # server and hold nothing of any organization.
    PUBLIC = "public"
    # The bearer token of the organization the URL names (its `{organization}` field).
    SCIM = "scim"
    # An operator token (`scimgate operator token create`).
    OPERATOR = "operator"


class UndeclaredAccess(ValueError):
    """A route was added without saying who may call it."""


@dataclass(frozen=True)
class Route:
    """One route of the app: its template, who may call it, and what answers it."""

    template: str
    access: Access
    resource: object
    suffix: str | None

    @property
    def methods(self) -> tuple[str, ...]:
        """The HTTP methods the resource answers on this route (not Falcon's defaults)."""
        ending = f"_{self.suffix}" if self.suffix else ""
        return tuple(
            method
            for method in falcon.constants.COMBINED_METHODS
            if callable(getattr(self.resource, f"on_{method.lower()}{ending}", None))
        )


class DeclaredRouter(CompiledRouter):
    """Falcon's compiled router, keeping each route's declared `Access` by its template."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Route] = {}

    def add_route(  # type: ignore[override]
        self, uri_template: str, resource: object, access: Access | None = None, **kwargs: Any
    ) -> None:
        if not isinstance(access, Access):
            raise UndeclaredAccess(
                f"route {uri_template} declares no access: pass access=Access.SCIM, "
                "Access.OPERATOR or Access.PUBLIC to add_route"
            )
        if not resource:
            # Falcon runs `process_resource`, where authentication happens, only for a truthy
            # resource: one that is falsy (an empty container, say) would skip it.
            raise ValueError(f"route {uri_template} has a falsy resource: {resource!r}")
        if uri_template in self.routes:
            raise ValueError(f"route {uri_template} is added twice")
        super().add_route(uri_template, resource, **kwargs)
        self.routes[uri_template] = Route(uri_template, access, resource, kwargs.get("suffix"))

    def access(self, uri_template: str | None) -> Access | None:
        """The access the matched route declared; None when no route matched."""
        route = self.routes.get(uri_template) if uri_template else None
        return route.access if route is not None else None


def declared_routes(app: falcon.App) -> list[Route]:
    """Every route of an app built on a `DeclaredRouter`, in the order they were added."""
    router = app._router  # Falcon keeps the router it was given here, and offers no getter.
    if not isinstance(router, DeclaredRouter):
        raise TypeError("the app was not built with a DeclaredRouter")
    return list(router.routes.values())
