"""Structured JSON logs, request ids, Prometheus metrics and health routes for every service."""

from __future__ import annotations

import logging
import re
import sys
import threading
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
# Label values come from a closed set: any other method a client sends is counted as "other",
# and requests that match no route as "unmatched" (never their path), so no request can add
# label series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

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
# A query parameter whose name says it holds a secret (hub.verify_token, crc_token, api_key,
# client_secret, ...), wherever a URL appears in a message: its value is replaced.
_SECRET_QUERY_VALUE = re.compile(
    r"(?i)([?&;][^=&#\s\"'<>]*(?:token|secret|key|password|signature|auth)[^=&#\s\"'<>]*=)"
    r"[^&#\s\"'<>]*"
)
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',]+")
_API_KEY = re.compile(r"\bsc_[A-Za-z0-9_-]{16,}")
# Loggers of the libraries the services run on: their lines go through the same structured,
# redacted handler as the project's own, never through handlers of their own.
LIBRARY_LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "httpx",
    "httpcore",
    "aiokafka",
    "kafka",
    "sqlalchemy",
    "alembic",
    "asyncio",
    "asyncpg",
    "aiosqlite",
)
# Every request of httpx and httpcore is logged at INFO/DEBUG with its full URL; the access
# metrics already count them. Their warnings and errors still come through.
_QUIET_LIBRARY_LOGGERS = {"httpx": logging.WARNING, "httpcore": logging.WARNING}


def redact_text(text: str) -> str:
    """`text` without the values of secret query parameters, bearer tokens and API keys."""
    if "=" in text:
        text = _SECRET_QUERY_VALUE.sub(r"\1[redacted]", text)
    if "earer" in text:
        text = _BEARER.sub(r"\1[redacted]", text)
    if "sc_" in text:
        text = _API_KEY.sub("[redacted]", text)
    return text


def _redact_secrets(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Secrets never reach the logs, whatever a call site or a library passes: fields named
    like a secret are dropped, and secrets inside messages and URLs are masked."""
    for key, value in list(event.items()):
        if any(marker in key.lower() for marker in _SECRET_KEYS):
            event[key] = "[redacted]"
        elif isinstance(value, str):
            event[key] = redact_text(value)
    return event


class RepeatedLogFilter(logging.Filter):
    """At most `burst` identical lines (same logger, level and message) per `interval` seconds.

    A library that fails in a loop (aiokafka logged 93,000 "Unable connect" lines in a 27 s
    broker outage) is reduced to a few lines per interval; the ones held back are counted and
    reported by one `log_lines_suppressed` line once the interval is over (written when the
    next line of any kind is logged). Written here because the logging libraries on PyPI rate
    limit by call site or drop repeats without saying how many.
    """

    def __init__(
        self,
        handler: logging.Handler,
        *,
        burst: int = 5,
        interval: float = 10.0,
        max_keys: int = 2000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.handler = handler
        self.burst = burst
        self.interval = interval
        self.max_keys = max_keys
        self.clock = clock
        self._lock = threading.Lock()
        # key -> [window start, lines in the window, lines suppressed in the window]
        self._windows: dict[tuple[str, int, str], list[float]] = {}
        self._next_sweep = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "suppressed_summary", False):
            return True
        now = self.clock()
        try:
            message = record.getMessage()
        except Exception:  # a library's bad format arguments: let the formatter report it
            return True
        key = (record.name, record.levelno, message[:300])
        due: list[logging.LogRecord] = []
        with self._lock:
            if now >= self._next_sweep:
                due = self._sweep(now)
            window = self._windows.get(key)
            if window is None or now - window[0] >= self.interval:
                if window is not None and window[2]:
                    due.append(self._summary(key, window))
                if window is None and len(self._windows) >= self.max_keys:
                    self._windows.clear()
                self._windows[key] = [now, 1, 0]
                allowed = True
            else:
                window[1] += 1
                allowed = window[1] <= self.burst
                if not allowed:
                    window[2] += 1
        for summary in due:
            self.handler.handle(summary)
        return allowed

    def _sweep(self, now: float) -> list[logging.LogRecord]:
        self._next_sweep = now + self.interval
        due = []
        for key, window in list(self._windows.items()):
            if now - window[0] >= self.interval:
                if window[2]:
                    due.append(self._summary(key, window))
                del self._windows[key]
        return due

    def _summary(self, key: tuple[str, int, str], window: list[float]) -> logging.LogRecord:
        name, level, message = key
        record = logging.LogRecord(
            name, level, __file__, 0, "log_lines_suppressed", None, None, func=None
        )
        record.suppressed = int(window[2])
        record.suppressed_message = message[:200]
        record.interval_seconds = self.interval
        record.suppressed_summary = True
        window[2] = 0
        return record


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stdout` is now (as structlog's own lines do)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


_HANDLER_NAME = "socialcare"


def adopt_library_loggers() -> None:
    """Send the libraries' loggers through the root (structured) handler. Called again when a
    service starts, since uvicorn installs its own handlers after the app factory ran."""
    for name in LIBRARY_LOGGERS:
        library_logger = logging.getLogger(name)
        library_logger.handlers.clear()
        library_logger.propagate = True
        quiet = _QUIET_LIBRARY_LOGGERS.get(name)
        if quiet is not None:
            library_logger.setLevel(quiet)


def configure_logging(service: str, level: str = "INFO", json_logs: bool = True) -> None:
    """One stream on stdout for the project's lines and every library's: JSON lines in
    production, key=value when developing; redacted, and repeated lines rate limited."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer()
    )
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            timestamper,
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
    handler = _StdoutHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                timestamper,
                structlog.stdlib.ExtraAdder(
                    allow=["suppressed", "suppressed_message", "interval_seconds"]
                ),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _redact_secrets,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    handler.addFilter(RepeatedLogFilter(handler))
    root = logging.getLogger()
    for existing in list(root.handlers):
        # Ours from an earlier call, and a plain stream handler (logging.basicConfig's) that
        # would print every line a second time; a test runner's capture handlers stay.
        if existing.get_name() == _HANDLER_NAME or type(existing) is logging.StreamHandler:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    adopt_library_loggers()


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
            self._metrics(
                method if method in KNOWN_METHODS else "other", route_path, status
            ).observe(elapsed)
            if status >= 500:
                self.logger.warning(
                    "request_failed",
                    method=method[:16],
                    route=route_path,
                    path=str(scope.get("path", ""))[:300],
                    status=status,
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
