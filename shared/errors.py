"""Errors as classes with an HTTP status, rendered as RFC 9457 problem+json by one handler."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
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


def unstorable_value_response(request: Request, exc: Exception) -> JSONResponse:
    # The database refused a value of the request (out of range, not valid text): the
    # caller's error. Validation should have caught it first; this keeps it a 4xx if not.
    logger.warning("database_refused_value", path=request.url.path, error=type(exc).__name__)
    return problem_response(
        400,
        "Bad request",
        "a value of the request is out of range or not storable",
        instance=request.url.path,
    )


def http_error_response(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names the methods of the first route whose path matched; the path may
        # have others (GET and DELETE as separate routes), so list every route's.
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem_response(
        exc.status_code,
        _reason(exc.status_code),
        str(exc.detail),
        instance=request.url.path,
        headers=headers,
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app fully matches for this path (routers included in
    the app are matched through their public `matches`, whatever their nesting)."""
    from starlette.routing import Match

    routes = getattr(request.app, "routes", ())
    allowed = {
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    }
    if "GET" in allowed:
        allowed.add("HEAD")
    return sorted(allowed)


def error_response(request: Request, exc: Exception) -> JSONResponse:
    """The problem+json the handlers below answer for `exc`, for ASGI code that runs outside
    FastAPI's exception middleware (see shared.fastpath)."""
    if isinstance(exc, AppError):
        return app_error_response(request, exc)
    if isinstance(exc, StarletteHTTPException):
        return http_error_response(request, exc)
    if isinstance(exc, DataError):
        return unstorable_value_response(request, exc)
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
        return http_error_response(request, exc)

    @app.exception_handler(DataError)
    async def _unstorable_value(request: Request, exc: DataError) -> JSONResponse:
        return unstorable_value_response(request, exc)

    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        return database_down_response(request, exc)

    for exc_class in _DATABASE_DOWN:
        app.add_exception_handler(exc_class, _database_down)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        return unhandled_response(request, exc)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; extra members (field, reason, ...) by error",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": ["string", "null"]},
    },
    "required": ["type", "title", "status", "detail"],
}
VALIDATION_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "ValidationProblem",
    "type": "object",
    "description": (
        "422: the payload or a parameter failed validation (one entry per field in `errors`),"
        " or a well-formed payload the domain cannot accept"
    ),
    "properties": {
        **PROBLEM_SCHEMA["properties"],
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
                "required": ["field", "reason"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}
_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _problem_content(schema: str) -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def document_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """Describe errors as they are served: every 4xx/5xx as application/problem+json (FastAPI
    documents its 422 as application/json), and the answers any operation can give: 400 for a
    malformed body or U+0000 in the path or query, 404 where a path names a resource, 413 where
    a body is taken."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ValidationProblem"] = VALIDATION_PROBLEM_SCHEMA
    for item in openapi.get("paths", {}).values():
        for method in _HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            responses.setdefault("400", {"description": "Malformed body or parameter"})
            if any(param.get("in") == "path" for param in operation.get("parameters", [])):
                responses.setdefault("404", {"description": "No such resource"})
            if "requestBody" in operation:
                responses.setdefault("413", {"description": "Body too large"})
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    schema = "ValidationProblem" if status == "422" else "Problem"
                    response["content"] = _problem_content(schema)
    return openapi
