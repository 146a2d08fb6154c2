"""The gateway's own API (`/v1/api-keys`) and the proxy of every other `/v1` path."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from services.gateway import repository, service
from services.gateway.dependencies import (
    AdminDep,
    SessionDep,
    SettingsDep,
    authenticate,
    gateway_state,
)
from services.gateway.exceptions import MethodNotAllowedError
from services.gateway.proxy import checked_path, public_webhook, resolve
from services.gateway.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPage, ApiKeyRead
from shared.auth import PRINCIPAL_HEADER, RequestBinding, encode_principal
from shared.errors import RateLimitedError
from shared.limits import read_limited_body
from shared.pagination import fetch_size

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown API key (problem+json)"},
    403: {"description": "The key lacks the admin scope (problem+json)"},
    429: {"description": "Rate limit reached; see Retry-After (problem+json)"},
}

keys_router = APIRouter(prefix="/v1/api-keys", tags=["api keys"], responses=PROBLEMS)


@keys_router.post("", status_code=201, response_model=ApiKeyCreated, summary="Issue an API key")
async def create_api_key(
    data: ApiKeyCreate, _admin: AdminDep, session: SessionDep, settings: SettingsDep
) -> ApiKeyCreated:
    row, clear = await service.create_key(
        session, data, default_rate_limit=settings.default_rate_limit_per_minute
    )
    return ApiKeyCreated(**ApiKeyRead.model_validate(row).model_dump(), key=clear)


@keys_router.get("", response_model=ApiKeyPage, summary="List API keys (never their secrets)")
async def list_api_keys(
    _admin: AdminDep,
    session: SessionDep,
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = Query(default=None),
) -> ApiKeyPage:
    rows = await repository.list_page(session, limit=fetch_size(limit), after_id=cursor)
    return ApiKeyPage.from_rows(
        rows, limit, item=ApiKeyRead.model_validate, cursor=lambda row: row.id
    )


@keys_router.get(
    "/{key_id}",
    response_model=ApiKeyRead,
    summary="One API key (never its secret)",
    responses={404: {"description": "No such key (problem+json)"}},
)
async def get_api_key(key_id: str, _admin: AdminDep, session: SessionDep) -> ApiKeyRead:
    return ApiKeyRead.model_validate(await service.get_key(session, key_id))


@keys_router.delete(
    "/{key_id}",
    status_code=204,
    summary="Revoke an API key",
    responses={404: {"description": "No such key (problem+json)"}},
)
async def revoke_api_key(
    key_id: str, request: Request, _admin: AdminDep, session: SessionDep
) -> Response:
    await service.revoke_key(session, key_id)
    authenticator = gateway_state(request).authenticator
    authenticator.forget(key_id)
    return Response(status_code=204)


docs_router = APIRouter()


@docs_router.get("/openapi.json", include_in_schema=False)
async def openapi_document(request: Request) -> JSONResponse:
    aggregator = gateway_state(request).openapi
    return JSONResponse(await aggregator.document(request.app.openapi()))


proxy_router = APIRouter()


def _gateway_methods(path: str) -> set[str]:
    """The methods of the gateway's own routes (`/v1/api-keys`) at `path`, if any."""
    methods: set[str] = set()
    for route in keys_router.routes:
        if isinstance(route, APIRoute) and route.path_regex.match(path):
            methods |= route.methods or set()
    return methods


# TRACE too, so the service answers it (405 with its own, accurate Allow).
@proxy_router.api_route(
    "/v1/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"],
    include_in_schema=False,
)
async def proxy(path: str, request: Request, settings: SettingsDep) -> Response:
    # Judged on the path as sent: "/v1/webhooks/meta/../../x" is refused, never resolved.
    checked = checked_path(request.scope["path"], request.scope.get("raw_path") or b"")
    own = _gateway_methods(checked)
    if own:  # a path of the gateway's own API with another method
        raise MethodNotAllowedError(own)
    target = resolve(checked)
    state = gateway_state(request)
    extra: dict[str, str] = {"x-request-id": request.state.request_id}
    if target.public:
        limiter = state.rate_limiter
        # One bucket per connection (its path), so no connection's traffic, nor requests to
        # connections that do not exist, can throttle another's deliveries.
        webhook = public_webhook(checked) or checked
        retry_after = limiter.acquire(
            "webhook:" + webhook, settings.webhook_rate_limit_per_minute
        ) or limiter.acquire("webhooks", settings.public_rate_limit_per_minute)
        if retry_after is not None:
            raise RateLimitedError(retry_after)
    else:
        principal = await authenticate(request)
        body = b""
        if request.method not in ("GET", "HEAD"):
            body = await signed_body(request, settings.max_request_body_bytes)
        binding = RequestBinding.of(
            target.service,
            request.method,
            request.scope["path"],
            request.scope.get("query_string", b""),
            body,
        )
        extra[PRINCIPAL_HEADER] = encode_principal(
            principal, settings.internal_secret.get_secret_value(), binding
        )
    return await state.proxy.forward(request, target, extra)


async def signed_body(request: Request, limit: int) -> bytes:
    """The body of an authenticated request, read whole (at most `limit` bytes, else 413) so
    its SHA-256 goes into the principal header; the proxy then forwards these same bytes.
    Platform webhooks carry no principal and keep streaming."""
    body = await read_limited_body(request, limit)
    # Starlette's request.stream() replays a body it holds: the proxy forwards exactly this.
    request._body = body
    return body
