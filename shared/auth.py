"""API scopes, brand and department limits, and the gateway's signed internal principal header.

The gateway authenticates the API key, then forwards the request with `X-Socialcare-Principal`:
`<base64url(json)>.<unix time>.<hex HMAC-SHA256(internal secret, "<payload>.<time>")>`. The
payload names the caller (key id, scopes, department and brand limits, the team member a
personal key is bound to) and binds the header to
one request: the target service, the method, the path, a digest of the query and the SHA-256 of
the body as the gateway forwards it. A service trusts a request only when the signature checks
(constant-time), the header was issued for this very request, it is at most
`principal_max_age_seconds` old and not more than `principal_max_skew_seconds` in the future.
A header captured from one request is therefore useless for any other route, service or body,
and only for a few seconds even for the same one.

Brand limits are enforced here once for every service: `Principal.allows_brand`,
`ensure_brand_visible` (objects of another brand are answered 404, as if they did not exist),
`ensure_brand_writable` (creating something for another brand is 403) and `brand_condition`
(the clause repositories add so lists, counts and exports leave other brands out).
Department limits: `Principal.may_see_department` where data has a department (routing's
cases; HR's only for HR), `ensure_every_department` where it belongs to the whole brand.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl

import httpx
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import ColumnElement, SQLColumnExpression, true

from shared.errors import AppError, ForbiddenError, UnauthorizedError

PRINCIPAL_HEADER = "x-socialcare-principal"
PRINCIPAL_VERSION = 2


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
    """Who is calling: an API key's id, its scopes and optional department and brand limits."""

    key_id: str
    name: str = ""
    scopes: frozenset[str] = Field(default_factory=frozenset)
    departments: frozenset[str] | None = None  # None = every department
    brands: frozenset[str] | None = None  # None = every brand
    # The team member a personal key (the console's, an agent desktop's) acts as; None for a
    # system key (a CRM's), which names the member in the request where one is needed.
    member_id: str | None = None
    member_brand_id: str | None = None

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

    def allows_brand(self, brand_id: str) -> bool:
        """Whether this key may see and change the data of `brand_id` (a limit binds admins
        too; the gateway refuses to issue an admin key with one)."""
        return self.brands is None or brand_id in self.brands


class BrandNotAllowedError(ForbiddenError):
    title = "Brand not allowed"


class DepartmentLimitError(ForbiddenError):
    title = "Not allowed with a department limit"


def ensure_every_department(principal: Principal, what: str) -> None:
    """403 for a key limited to departments asking for `what`: data or changes that belong to
    the whole brand (or to a department not known yet, as an interaction before routing
    opens its case, which may be HR's), so no department limit can be honoured on them."""
    if principal.departments is not None and not principal.is_admin:
        raise DepartmentLimitError(
            f"{what} needs an API key without a department limit",
            field="departments",
            reason="department_limited",
        )


def ensure_brand_visible(principal: Principal, brand_id: str, not_found: AppError) -> None:
    """Raise `not_found` (the service's own 404) when the key is limited to other brands:
    objects of a brand the key may not see are answered exactly as missing ones."""
    if not principal.allows_brand(brand_id):
        raise not_found


def ensure_brand_writable(principal: Principal, brand_id: str, *, field: str = "brand_id") -> None:
    """403 when a request asks to create something for a brand outside the key's limit."""
    if not principal.allows_brand(brand_id):
        raise BrandNotAllowedError(
            f"this API key is limited to other brands than {brand_id}",
            field=field,
            reason="brand_not_allowed",
        )


def brand_condition(
    column: SQLColumnExpression[str], brands: frozenset[str] | None
) -> ColumnElement[bool]:
    """The WHERE clause that keeps a query to `brands` (every brand when None)."""
    if brands is None:
        return true()
    return column.in_(sorted(brands))


# --------------------------------------------------------------------- the signed header


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def query_digest(query_string: bytes | str) -> str:
    """SHA-256 of the parsed query pairs, grouped by name in a stable order: the same whether
    the gateway forwards the bytes as sent or an HTTP client re-encodes them."""
    raw = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    pairs = sorted(parse_qsl(raw, keep_blank_values=True), key=lambda pair: pair[0])
    return hashlib.sha256(json.dumps(pairs, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class RequestBinding:
    """The one request a principal header is valid for."""

    service: str
    method: str
    path: str
    query: str  # query_digest
    body: str  # body_digest

    @classmethod
    def of(
        cls, service: str, method: str, path: str, query_string: bytes | str, body: bytes
    ) -> RequestBinding:
        return cls(service, method.upper(), path, query_digest(query_string), body_digest(body))


class _Claims(BaseModel):
    model_config = ConfigDict(extra="ignore")

    v: int
    key_id: str
    name: str = ""
    scopes: list[str]
    departments: list[str] | None = None
    brands: list[str] | None = None
    member_id: str | None = None
    member_brand_id: str | None = None
    service: str
    method: str
    path: str
    query: str
    body: str


def _sign(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def encode_principal(
    principal: Principal, secret: str, binding: RequestBinding, *, now: float | None = None
) -> str:
    claims = _Claims(
        v=PRINCIPAL_VERSION,
        key_id=principal.key_id,
        name=principal.name,
        scopes=sorted(principal.scopes),
        departments=sorted(principal.departments) if principal.departments is not None else None,
        brands=sorted(principal.brands) if principal.brands is not None else None,
        member_id=principal.member_id,
        member_brand_id=principal.member_brand_id,
        service=binding.service,
        method=binding.method,
        path=binding.path,
        query=binding.query,
        body=binding.body,
    )
    encoded = base64.urlsafe_b64encode(claims.model_dump_json().encode())
    body = encoded.decode().rstrip("=")
    timestamp = str(int(now if now is not None else time.time()))
    signature = _sign(secret.encode(), f"{body}.{timestamp}".encode())
    return f"{body}.{timestamp}.{signature}"


def decode_principal(
    header: str, secret: str, *, max_age: int, max_skew: int, now: float | None = None
) -> tuple[Principal, RequestBinding]:
    """Verify signature and age; return the caller and the request the header was issued for.
    Raise UnauthorizedError for anything that cannot be trusted, whatever bytes it holds."""
    if not header.isascii():
        raise UnauthorizedError("malformed internal principal")
    parts = header.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 12:
        raise UnauthorizedError("malformed internal principal")
    body, timestamp, signature = parts
    expected = _sign(secret.encode(), f"{body}.{timestamp}".encode())
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise UnauthorizedError("internal principal signature mismatch")
    current = now if now is not None else time.time()
    issued = int(timestamp)
    if issued - current > max_skew:
        raise UnauthorizedError("internal principal issued in the future")
    if current - issued > max_age:
        raise UnauthorizedError("internal principal expired")
    try:
        claims = _Claims.model_validate_json(
            base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        )
    except (ValueError, binascii.Error, ValidationError) as exc:
        raise UnauthorizedError("malformed internal principal") from exc
    if claims.v != PRINCIPAL_VERSION:
        raise UnauthorizedError("unsupported internal principal version")
    principal = Principal(
        key_id=claims.key_id,
        name=claims.name,
        scopes=frozenset(claims.scopes),
        departments=frozenset(claims.departments) if claims.departments is not None else None,
        brands=frozenset(claims.brands) if claims.brands is not None else None,
        member_id=claims.member_id,
        member_brand_id=claims.member_brand_id,
    )
    binding = RequestBinding(claims.service, claims.method, claims.path, claims.query, claims.body)
    return principal, binding


async def principal_from_request(request: Request) -> Principal:
    """Dependency body: the verified principal of this request (cached on request.state).

    The body is read (or taken from FastAPI's cache of it) only once the signature and age
    have checked, so only requests the gateway signed, and bounded, are ever buffered here.
    """
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    header = request.headers.get(PRINCIPAL_HEADER)
    if not header:
        raise UnauthorizedError("requests must come through the gateway with an API key")
    settings = request.app.state.settings
    principal, binding = decode_principal(
        header,
        settings.internal_secret.get_secret_value(),
        max_age=settings.principal_max_age_seconds,
        max_skew=settings.principal_max_skew_seconds,
    )
    scope = request.scope
    if (
        binding.service != settings.service_name
        or binding.method != request.method
        or binding.path != scope["path"]
        or binding.query != query_digest(scope.get("query_string", b""))
    ):
        raise UnauthorizedError("internal principal issued for another request")
    if not hmac.compare_digest(binding.body, body_digest(await request.body())):
        raise UnauthorizedError("internal principal issued for another request body")
    request.state.principal = principal
    return principal


class PrincipalAuth(httpx.Auth):
    """Signs each request of an httpx client as the gateway would, for `service`: for tools and
    tests that call a service directly (never exposed outside the cluster)."""

    requires_request_body = True

    def __init__(self, principal: Principal, secret: str, service: str) -> None:
        self.principal = principal
        self.secret = secret
        self.service = service

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        binding = RequestBinding.of(
            self.service, request.method, request.url.path, request.url.query, request.content
        )
        request.headers[PRINCIPAL_HEADER] = encode_principal(self.principal, self.secret, binding)
        yield request


def require_scopes(
    *scopes: Scope,
) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """Dependency factory: the caller must hold every one of `scopes` (admin holds all)."""

    async def dependency(request: Request) -> Principal:
        principal = await principal_from_request(request)
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
        principal = await principal_from_request(request)
        if not any(principal.has(scope.value) for scope in scopes):
            names = " or ".join(scope.value for scope in scopes)
            raise ForbiddenError(f"this API key needs the scope {names}")
        return principal

    return dependency
