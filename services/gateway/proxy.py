"""Reverse proxy of `/v1/*` to the owning service, streaming both ways."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse

from shared.auth import PRINCIPAL_HEADER
from shared.errors import BadGatewayError, GatewayTimeoutError, NotFoundError

# First path segment after /v1 → owning service. DESIGN.md, Services.
ROUTES: dict[str, str] = {
    "connections": "ingest",
    "interactions": "ingest",
    "webhooks": "ingest",  # platform webhooks: /v1/webhooks/{meta,x}/...
    "departments": "routing",
    "members": "routing",
    "accounts": "routing",
    "responsibilities": "routing",
    "rules": "routing",
    "cases": "routing",
    "replies": "routing",
    "guidelines": "guidelines",
    "kpis": "kpi",
    "goals": "kpi",
    "alerts": "kpi",
    "fans": "kpi",
    "webhook-endpoints": "webhooks",
    "webhook-deliveries": "webhooks",
}
# Platform webhooks authenticate by their own signatures, checked by ingest.
PUBLIC_PREFIXES = ("/v1/webhooks/meta/", "/v1/webhooks/x/")

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
# Never forwarded upstream: the caller's key stays at the gateway, and only the gateway may
# assert a principal.
STRIPPED_UPSTREAM = HOP_BY_HOP | {"authorization", "x-request-id", PRINCIPAL_HEADER}


@dataclass(frozen=True)
class Target:
    service: str
    public: bool


def resolve(path: str) -> Target:
    """Which service owns this `/v1/...` path, and whether it is public."""
    segments = path.split("/", 3)
    first = segments[2] if len(segments) > 2 else ""
    service = ROUTES.get(first)
    if service is None:
        raise NotFoundError(f"no API at {path}")
    return Target(service=service, public=path.startswith(PUBLIC_PREFIXES))


class Proxy:
    def __init__(self, upstreams: dict[str, str], client: httpx.AsyncClient) -> None:
        self.upstreams = upstreams
        self.client = client

    async def forward(
        self, request: Request, target: Target, extra_headers: dict[str, str]
    ) -> StreamingResponse:
        base = self.upstreams[target.service]
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in STRIPPED_UPSTREAM
        ]
        headers.extend(extra_headers.items())
        client_host = request.client.host if request.client else ""
        headers.append(("x-forwarded-for", client_host))
        headers.append(("x-forwarded-proto", request.url.scheme))
        upstream_request = self.client.build_request(
            request.method,
            base + request.url.path,
            params=request.url.query,
            headers=headers,
            content=_body(request) if request.method not in ("GET", "HEAD") else None,
        )
        try:
            upstream = await self.client.send(upstream_request, stream=True)
        except httpx.TimeoutException as exc:
            raise GatewayTimeoutError(
                f"the {target.service} service did not answer in time", service=target.service
            ) from exc
        except httpx.TransportError as exc:
            raise BadGatewayError(
                f"the {target.service} service is unavailable", service=target.service
            ) from exc
        response_headers = {
            name: value
            for name, value in upstream.headers.items()
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-encoding"
        }
        return StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            headers=response_headers,
            background=BackgroundTask(upstream.aclose),
        )


async def _body(request: Request) -> AsyncIterator[bytes]:
    # Every body is bounded by the RequestLimitsMiddleware of every service app (shared.limits)
    # at SOCIALCARE_GATEWAY_MAX_REQUEST_BODY_BYTES: a larger Content-Length is refused before
    # this runs, and this is the counted stream, so a longer chunked body (the public webhook
    # paths stream theirs) stops here with 413 and the upstream request is abandoned.
    async for chunk in request.stream():
        yield chunk
