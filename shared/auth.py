"""API scopes and the gateway's signed internal principal header that services verify.

The gateway authenticates the API key, then forwards the request with `X-Socialcare-Principal`:
`<base64url(json)>.<unix time>.<hex HMAC-SHA256(internal secret, "<payload>.<time>")>`. A service
trusts a request only when that signature checks (constant-time) and is fresh; a request straight
to a service without it is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field

from shared.errors import ForbiddenError, UnauthorizedError

PRINCIPAL_HEADER = "x-socialcare-principal"


class Scope(StrEnum):
    admin = "admin"
    ingest_write = "ingest:write"
    interactions_read = "interactions:read"
    team_write = "team:write"
    cases_read = "cases:read"
    cases_write = "cases:write"
    replies_write = "replies:write"
    replies_approve = "replies:approve"
    guidelines_read = "guidelines:read"
    guidelines_write = "guidelines:write"
    kpis_read = "kpis:read"
    webhooks_manage = "webhooks:manage"


class Principal(BaseModel):
    """Who is calling: an API key's id, its scopes and optional department limits."""

    key_id: str
    name: str = ""
    scopes: frozenset[str] = Field(default_factory=frozenset)
    departments: frozenset[str] | None = None  # None = every department

    @property
    def is_admin(self) -> bool:
        return Scope.admin.value in self.scopes

    def has(self, scope: str) -> bool:
        return self.is_admin or scope in self.scopes

    def may_see_department(self, department: str) -> bool:
        """HR data is visible only to keys limited to or scoped for HR (and admins)."""
        if self.is_admin:
            return True
        if department == "hr":
            return self.departments is not None and "hr" in self.departments
        return self.departments is None or department in self.departments


def _sign(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def encode_principal(principal: Principal, secret: str, *, now: float | None = None) -> str:
    payload = {
        "key_id": principal.key_id,
        "name": principal.name,
        "scopes": sorted(principal.scopes),
        "departments": sorted(principal.departments) if principal.departments is not None else None,
    }
    encoded = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    body = encoded.decode().rstrip("=")
    timestamp = str(int(now if now is not None else time.time()))
    signature = _sign(secret.encode(), f"{body}.{timestamp}".encode())
    return f"{body}.{timestamp}.{signature}"


def decode_principal(
    header: str, secret: str, *, max_age: int, now: float | None = None
) -> Principal:
    """Verify and decode the header; raise UnauthorizedError when it cannot be trusted."""
    try:
        body, timestamp, signature = header.split(".")
        issued = int(timestamp)
    except ValueError as exc:
        raise UnauthorizedError("malformed internal principal") from exc
    expected = _sign(secret.encode(), f"{body}.{timestamp}".encode())
    if not hmac.compare_digest(expected, signature):
        raise UnauthorizedError("internal principal signature mismatch")
    current = now if now is not None else time.time()
    if abs(current - issued) > max_age:
        raise UnauthorizedError("internal principal expired")
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError as exc:
        raise UnauthorizedError("malformed internal principal") from exc
    departments = data.get("departments")
    return Principal(
        key_id=data["key_id"],
        name=data.get("name", ""),
        scopes=frozenset(data.get("scopes", [])),
        departments=frozenset(departments) if departments is not None else None,
    )


def principal_from_request(request: Request) -> Principal:
    """Dependency body: the verified principal of this request (cached on request.state)."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    header = request.headers.get(PRINCIPAL_HEADER)
    if not header:
        raise UnauthorizedError("requests must come through the gateway with an API key")
    settings = request.app.state.settings
    principal = decode_principal(
        header,
        settings.internal_secret.get_secret_value(),
        max_age=settings.principal_max_age_seconds,
    )
    request.state.principal = principal
    return principal


def require_scopes(
    *scopes: Scope,
) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """Dependency factory: the caller must hold every one of `scopes` (admin holds all)."""

    async def dependency(request: Request) -> Principal:
        principal = principal_from_request(request)
        missing = [scope.value for scope in scopes if not principal.has(scope.value)]
        if missing:
            raise ForbiddenError(
                f"this API key lacks the scope {', '.join(missing)}", missing_scopes=missing
            )
        return principal

    return dependency


def require_any_scope(
    *scopes: Scope,
) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """Dependency factory: the caller must hold at least one of `scopes`."""

    async def dependency(request: Request) -> Principal:
        principal = principal_from_request(request)
        if not any(principal.has(scope.value) for scope in scopes):
            names = " or ".join(scope.value for scope in scopes)
            raise ForbiddenError(f"this API key needs the scope {names}")
        return principal

    return dependency
