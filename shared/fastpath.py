"""Lean routes for endpoints that platforms call at volume.

FastAPI's per-request machinery (route matching over every route, dependency solving, the
exception and exit-stack middlewares, response models) costs several times the work of a
webhook receiver that verifies a signature and hands the body to Kafka. A `FastRoute` is served
by `FastPathMiddleware`, which sits inside the request-id/metrics middleware and before FastAPI's
routing: one prefix test, one path parameter, a Starlette `Request`, errors rendered by the same
problem+json functions as every other route. Declare the same path as an ordinary FastAPI route
too (calling the same endpoint) so it is documented in OpenAPI; the fast path answers first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import error_response

Endpoint = Callable[[Request, str], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class FastRoute:
    """`method` on `prefix` + one path segment, e.g. POST /v1/webhooks/meta/{connection_id}.

    `path` is the documented template; the metrics label requests with it, as they do
    FastAPI's routes."""

    method: str
    prefix: str
    path: str
    endpoint: Endpoint

    def __post_init__(self) -> None:
        if not self.prefix.startswith("/") or not self.prefix.endswith("/"):
            raise ValueError(f"a fast route prefix starts and ends with '/': {self.prefix!r}")

    def match(self, scope: Scope) -> str | None:
        """The path parameter when `scope` is a request for this route."""
        path: str = scope["path"]
        if scope["method"] != self.method or not path.startswith(self.prefix):
            return None
        parameter = path[len(self.prefix) :]
        return parameter if parameter and "/" not in parameter else None


class FastPathMiddleware:
    """Serve `routes` directly; pass every other request to the app."""

    def __init__(self, app: ASGIApp, routes: Sequence[FastRoute]) -> None:
        self.app = app
        self.routes = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                parameter = route.match(scope)
                if parameter is not None:
                    await self._serve(route, parameter, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    @staticmethod
    async def _serve(
        route: FastRoute, parameter: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        scope["route"] = route
        request = Request(scope, receive)
        try:
            response = await route.endpoint(request, parameter)
        except Exception as exc:
            response = error_response(request, exc)
        await response(scope, receive, send)
