"""Gateway dependencies: the caller's API key, authenticated and rate limited."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.gateway.config import GatewaySettings
from services.gateway.state import GatewayState
from shared.auth import Principal, Scope
from shared.dependencies import SessionDep, settings_dependency, state_dependency
from shared.errors import ForbiddenError, RateLimitedError, UnauthorizedError
from shared.runtime import runtime_of

gateway_settings = settings_dependency(GatewaySettings)
gateway_state = state_dependency(GatewayState)


def bearer_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def authenticate(request: Request) -> Principal:
    """401 without a valid key, 429 past the key's rate limit.

    A client that keeps sending unknown keys gets 429 instead of 401 once it has spent its
    budget of failures (`failed_key_limit_per_minute`), and then no database lookup either,
    except for keys this process already knows to be valid.
    """
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    key = bearer_key(request)
    if key is None:
        raise UnauthorizedError("an API key is required: Authorization: Bearer <key>")
    runtime = runtime_of(request)
    settings = gateway_settings(request)
    state = runtime.state_as(GatewayState)
    authenticator = state.authenticator
    failures = state.key_failures
    client = request.client.host if request.client else ""
    failure_limit = settings.failed_key_limit_per_minute
    blocked = failures.exhausted(client, failure_limit)
    if blocked is not None and not authenticator.known_valid(key):
        raise RateLimitedError(blocked, "too many requests with unknown API keys")
    async with runtime.sessions() as session:
        found = await authenticator.authenticate(session, key)
    if found is None:
        retry_after = failures.acquire(client, failure_limit)
        if retry_after is not None:
            raise RateLimitedError(retry_after, "too many requests with unknown API keys")
        raise UnauthorizedError("the API key is unknown or revoked")
    principal, per_minute = found
    retry_after = state.rate_limiter.acquire(principal.key_id, per_minute)
    if retry_after is not None:
        raise RateLimitedError(retry_after, f"rate limit of {per_minute} requests/minute reached")
    request.state.principal = principal
    return principal


async def require_admin(request: Request) -> Principal:
    principal = await authenticate(request)
    if not principal.is_admin:
        raise ForbiddenError("this API key lacks the scope admin", missing_scopes=["admin"])
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]
AdminDep = Annotated[Principal, Depends(require_admin)]


SettingsDep = Annotated[GatewaySettings, Depends(gateway_settings)]

__all__ = ["AdminDep", "PrincipalDep", "Scope", "SessionDep", "SettingsDep"]
