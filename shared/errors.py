"""Errors as classes with an HTTP status, rendered as RFC 9457 problem+json by one handler."""

from __future__ import annotations

import re
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as DatabaseTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
logger = structlog.get_logger("socialcare.errors")


class AppError(Exception):
    """Base of every business error; subclasses set status and title."""

    status: int = 400
    title: str = "Bad request"
    problem_type: str = "about:blank"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra


class NotFoundError(AppError):
    status = 404
    title = "Not found"


class ConflictError(AppError):
    status = 409
    title = "Conflict"


class UnauthorizedError(AppError):
    status = 401
    title = "Unauthorized"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, **extra)


class ForbiddenError(AppError):
    status = 403
    title = "Forbidden"


class BadRequestError(AppError):
    status = 400
    title = "Bad request"


class PayloadTooLargeError(AppError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaTypeError(AppError):
    status = 415
    title = "Unsupported media type"


class UnprocessableError(AppError):
    """A well-formed payload the domain cannot accept (e.g. an invalid rule); not schema errors."""

    status = 422
    title = "Unprocessable content"


class RateLimitedError(AppError):
    status = 429
    title = "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, retry_after=retry_after)


class ServiceUnavailableError(AppError):
    """A dependency (Kafka, the database, an upstream service) cannot take the request now."""

    status = 503
    title = "Service unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 5, **extra: Any) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, **extra)


class BadGatewayError(AppError):
    status = 502
    title = "Bad gateway"


class GatewayTimeoutError(AppError):
    status = 504
    title = "Gateway timeout"


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    problem_type: str = "about:blank",
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": problem_type, "title": title, "status": status}
    body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


_DATABASE_DOWN = (OperationalError, InterfaceError, ConnectionError, DatabaseTimeoutError)


def app_error_response(request: Request, exc: AppError) -> JSONResponse:
    return problem_response(
        exc.status,
        exc.title,
        exc.detail,
        instance=request.url.path,
        headers=exc.headers,
        problem_type=exc.problem_type,
        **exc.extra,
    )


def database_down_response(request: Request, exc: Exception) -> JSONResponse:
    # The database is unreachable: refuse so the caller retries; nothing was accepted.
    logger.warning("database_unavailable", path=request.url.path, error=type(exc).__name__)
    return problem_response(
        503,
        "Service unavailable",
        "the database is unavailable; retry later",
        instance=request.url.path,
        headers={"Retry-After": "5"},
    )


def unhandled_response(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled_error", path=request.url.path, error=type(exc).__name__)
    return problem_response(
        500, "Internal server error", "unexpected error", instance=request.url.path
    )


def error_response(request: Request, exc: Exception) -> JSONResponse:
    """The problem+json the handlers below answer for `exc`, for ASGI code that runs outside
    FastAPI's exception middleware (see shared.fastpath)."""
    if isinstance(exc, AppError):
        return app_error_response(request, exc)
    if isinstance(exc, _DATABASE_DOWN):
        return database_down_response(request, exc)
    return unhandled_response(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as problem+json; 4xx never becomes 500."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return app_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_path(error.get("loc", ())), "reason": error.get("msg", "invalid")}
            for error in exc.errors()
        ]
        first = errors[0] if errors else {"field": "body", "reason": "invalid"}
        return problem_response(
            422,
            "Validation failed",
            f"{first['field']}: {first['reason']}",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route matching the path only; a path
            # served by several routes (GET and POST apart) takes all of them.
            documented = documented_methods(request.app, request.url.path)
            if documented:
                headers["Allow"] = ", ".join(documented)
        return problem_response(
            exc.status_code,
            _reason(exc.status_code),
            str(exc.detail),
            instance=request.url.path,
            headers=headers,
        )

    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        return database_down_response(request, exc)

    for exc_class in _DATABASE_DOWN:
        app.add_exception_handler(exc_class, _database_down)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        return unhandled_response(request, exc)


_HTTP_METHODS = ("get", "head", "post", "put", "patch", "delete", "options", "trace")


def documented_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the app's OpenAPI document lists for the path template matching `path`."""
    templates: list[tuple[re.Pattern[str], list[str]]] | None = getattr(
        app.state, "allowed_methods", None
    )
    if templates is None:
        templates = []
        for template, item in app.openapi().get("paths", {}).items():
            regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            methods = sorted(method.upper() for method in item if method in _HTTP_METHODS)
            templates.append((re.compile(regex + "$"), methods))
        app.state.allowed_methods = templates
    for compiled, methods in templates:
        if compiled.match(path):
            return methods
    return []


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
