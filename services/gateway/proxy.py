"""Reverse proxy of `/v1/*` to the owning service, streaming both ways.

What reaches a service is exactly what the gateway judged: the path is checked on the bytes the
client sent (no dot segments, no encoded separators, no control characters) and forwarded as
those bytes, never re-parsed by the HTTP client (which would resolve `..` after the gateway had
decided the path was a public webhook).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import structlog
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.auth import PRINCIPAL_HEADER
from shared.errors import (
    BadGatewayError,
    BadRequestError,
    GatewayTimeoutError,
    NotFoundError,
    error_response,
)
from shared.http import STALE_CONNECTION_ERRORS

logger = structlog.get_logger("socialcare.gateway")

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
    "intents": "routing",
    "sla-policies": "routing",
    "calendars": "routing",
    "approvals": "routing",
    "canned-replies": "routing",
    "guidelines": "guidelines",
    "kpis": "kpi",
    "goals": "kpi",
    "alerts": "kpi",
    "fans": "kpi",
    "ambassadors": "kpi",
    "ideas": "kpi",
    "facts": "kpi",
    "webhook-endpoints": "webhooks",
    "webhook-deliveries": "webhooks",
    "webhook-event-types": "webhooks",
}
# Platform webhooks authenticate by their own signatures, checked by ingest: exactly these
# prefixes followed by one connection id are public.
PUBLIC_PREFIXES = ("/v1/webhooks/meta/", "/v1/webhooks/x/")
# '%2F' (/), '%5C' (\) and '%25' (%) in a raw path would let one segment mean another path
# further on (a second decoding, a proxy or framework that splits on them).
_ENCODED_SEPARATOR = re.compile(rb"%(?:2f|5c|25)", re.IGNORECASE)
_CONTROL_OR_BACKSLASH = re.compile(r"[\x00-\x1f\x7f\\]")
# Methods whose request the gateway may send twice (RFC 9110 9.2.2), when it holds the whole
# body (or there is none).
RETRIED_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

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
# The gateway's own server writes `date` and `server`; the service's copies would repeat them.
STRIPPED_DOWNSTREAM = HOP_BY_HOP | {"content-encoding", "date", "server"}


@dataclass(frozen=True)
class Target:
    service: str
    public: bool


def checked_path(path: str, raw_path: bytes) -> str:
    """The decoded path, refused (400) unless it names one resource the same way everywhere.

    `path` is the percent-decoded form the router matched, `raw_path` the bytes as sent.
    """
    if _ENCODED_SEPARATOR.search(raw_path):
        raise BadRequestError(
            "encoded '/', '\\' or '%' are not accepted in a path", field="path", reason="encoding"
        )
    if _CONTROL_OR_BACKSLASH.search(path):
        raise BadRequestError(
            "control characters and '\\' are not accepted in a path",
            field="path",
            reason="character",
        )
    if any(segment in (".", "..") for segment in path.split("/")):
        raise BadRequestError(
            "'.' and '..' segments are not accepted in a path", field="path", reason="dot-segment"
        )
    return path


class PathGuardMiddleware:
    """Refuses (400 problem+json) every request whose path `checked_path` refuses, before any
    routing: a path with a line feed matches no route template at all, so the proxy route's
    own check would never see it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                checked_path(scope["path"], scope.get("raw_path") or b"")
            except BadRequestError as exc:
                await error_response(Request(scope, receive), exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def public_webhook(path: str) -> str | None:
    """The webhook path (`/v1/webhooks/{platform}/{connection_id}`) when `path` is one."""
    for prefix in PUBLIC_PREFIXES:
        if path.startswith(prefix):
            connection_id = path[len(prefix) :]
            if connection_id and "/" not in connection_id:
                return path
    return None


def resolve(path: str) -> Target:
    """Which service owns this (checked) `/v1/...` path, and whether it is public."""
    segments = path.split("/", 3)
    first = segments[2] if len(segments) > 2 else ""
    service = ROUTES.get(first)
    if service is None:
        raise NotFoundError(f"no API at {path}")
    return Target(service=service, public=public_webhook(path) is not None)


def checked_headers(request: Request) -> list[tuple[bytes, bytes]]:
    """The request's headers as sent, refused (400) when one is not ASCII (RFC 9110 5.5:
    only obs-text allows other bytes, and no API here takes such a value)."""
    headers: list[tuple[bytes, bytes]] = request.scope["headers"]
    for name, value in headers:
        if not value.isascii():
            field = name.decode("latin-1")
            raise BadRequestError(
                f"the header {field} holds bytes that are not ASCII", field=field, reason="encoding"
            )
    return headers


def _has_body(request: Request) -> bool:
    headers = request.headers
    return "transfer-encoding" in headers or headers.get("content-length", "0") not in ("", "0")


class Proxy:
    """Streams a request to its service. `retry_client` keeps no idle connections: an idempotent
    request whose pooled connection the service had dropped (as uvicorn does after a 500) is
    sent once more on a connection of its own."""

    def __init__(
        self,
        upstreams: dict[str, str],
        client: httpx.AsyncClient,
        retry_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.upstreams = upstreams
        self.client = client
        self.retry_client = retry_client

    async def forward(
        self, request: Request, target: Target, extra_headers: dict[str, str]
    ) -> StreamingResponse:
        base = httpx.URL(self.upstreams[target.service])
        scope = request.scope
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        url = base.copy_with(raw_path=raw_path + (b"?" + query if query else b""))
        headers: list[tuple[bytes, bytes]] = [
            (name, value)
            for name, value in checked_headers(request)
            if name.decode("latin-1").lower() not in STRIPPED_UPSTREAM
        ]
        client_host = request.client.host if request.client else ""
        extra = {
            **extra_headers,
            "x-forwarded-for": client_host,
            "x-forwarded-proto": request.url.scheme,
        }
        headers.extend(
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in extra.items()
        )
        method = request.method
        bodiless = method in ("GET", "HEAD") or not _has_body(request)
        # Authenticated bodies were read whole to sign their digest (routes.signed_body).
        held: bytes | None = getattr(request, "_body", None)
        content: bytes | AsyncIterator[bytes] | None = (
            None if bodiless else held if held is not None else _body(request)
        )
        retryable = method in RETRIED_METHODS and (bodiless or held is not None)
        client = self.client
        while True:
            upstream_request = client.build_request(method, url, headers=headers, content=content)
            try:
                upstream = await client.send(upstream_request, stream=True)
                break
            except httpx.TimeoutException as exc:
                raise GatewayTimeoutError(
                    f"the {target.service} service did not answer in time", service=target.service
                ) from exc
            except STALE_CONNECTION_ERRORS as exc:
                if not retryable or self.retry_client is None or client is self.retry_client:
                    raise _unavailable(target) from exc
                logger.info("upstream_connection_retried", service=target.service, error=str(exc))
                client = self.retry_client
            except httpx.TransportError as exc:
                raise _unavailable(target) from exc
        response_headers = [
            (name, value)
            for name, value in upstream.headers.raw
            if name.decode("latin-1").lower() not in STRIPPED_DOWNSTREAM
        ]
        response = StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            background=BackgroundTask(upstream.aclose),
        )
        # Raw pairs, so repeated headers (set-cookie, vary) keep every value.
        response.raw_headers = response_headers
        return response


def _unavailable(target: Target) -> BadGatewayError:
    return BadGatewayError(f"the {target.service} service is unavailable", service=target.service)


async def _body(request: Request) -> AsyncIterator[bytes]:
    # Every body is bounded by the RequestLimitsMiddleware of every service app (shared.limits)
    # at SOCIALCARE_GATEWAY_MAX_REQUEST_BODY_BYTES: a larger Content-Length is refused before
    # this runs, and this is the counted stream, so a longer chunked body (the public webhook
    # paths stream theirs) stops here with 413 and the upstream request is abandoned.
    async for chunk in request.stream():
        yield chunk
