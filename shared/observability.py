"""Structured JSON logs, request ids, Prometheus metrics and health routes for every service."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.ids import random_hex

REQUEST_ID_HEADER = "x-request-id"

HTTP_REQUESTS = Counter(
    "socialcare_http_requests_total",
    "HTTP requests handled",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "socialcare_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

_SECRET_KEYS = ("secret", "password", "token", "authorization", "api_key", "signature")


def _redact_secrets(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Secrets never reach the logs, whatever a call site passes."""
    for key in list(event):
        if any(marker in key.lower() for marker in _SECRET_KEYS):
            event[key] = "[redacted]"
    return event


def configure_logging(service: str, level: str = "INFO", json_logs: bool = True) -> None:
    """structlog to stdout, JSON lines in production, key=value when developing."""
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper())
    renderer: Any = (
        structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelName(level.upper()) if isinstance(level, str) else level
        ),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


@dataclass(slots=True, frozen=True)
class _RequestMetrics:
    requests: Counter
    latency: Histogram

    def observe(self, elapsed: float) -> None:
        self.requests.inc()
        self.latency.observe(elapsed)


class RequestContextMiddleware:
    """Pure ASGI middleware: request id in, request id out, metrics and an access log line."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self.logger = structlog.get_logger("socialcare.http")
        self._children: dict[tuple[str, str, int], _RequestMetrics] = {}

    def _metrics(self, method: str, route_path: str, status: int) -> _RequestMetrics:
        """The metric children of one (method, route, status): looked up once, not per request."""
        key = (method, route_path, status)
        children = self._children.get(key)
        if children is None:
            children = _RequestMetrics(
                HTTP_REQUESTS.labels(self.service, method, route_path, str(status)),
                HTTP_LATENCY.labels(self.service, method, route_path),
            )
            self._children[key] = children
        return children

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:128]
                break
        if not request_id:
            request_id = random_hex()
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            route_path = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            self._metrics(method, route_path, status).observe(elapsed)
            if status >= 500:
                self.logger.warning(
                    "request_failed", method=method, path=scope.get("path"), status=status
                )
            structlog.contextvars.unbind_contextvars("request_id")


ReadinessCheck = Callable[[], Awaitable[None]]


def health_router(checks: Mapping[str, ReadinessCheck]) -> APIRouter:
    """`/healthz` says the process is alive; `/readyz` runs every dependency check."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: database and Kafka reachable")
    async def readyz(response: Response) -> dict[str, Any]:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"unavailable: {type(exc).__name__}"
        ready = all(value == "ok" for value in results.values())
        response.status_code = 200 if ready else 503
        return {"status": "ready" if ready else "not ready", "checks": results}

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def install_observability(app: FastAPI, service: str) -> None:
    app.add_middleware(RequestContextMiddleware, service=service)
