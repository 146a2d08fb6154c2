"""API key rules: issue, hash, authenticate, revoke. No FastAPI here."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import repository
from services.gateway.exceptions import (
    AdminKeyBrandLimitError,
    ApiKeyNotFoundError,
    MemberBrandOutsideLimitError,
    UnknownDepartmentError,
)
from services.gateway.models import ApiKey
from services.gateway.schemas import DEPARTMENTS, ApiKeyCreate
from shared.auth import Principal, Scope
from shared.clock import utc_now

KEY_PREFIX = "sc_"


def hash_key(key: str) -> str:
    """Keys are 256-bit random tokens, so a plain SHA-256 is a sound one-way store."""
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def principal_of(key: ApiKey) -> Principal:
    return Principal(
        key_id=key.id,
        name=key.name,
        scopes=frozenset(key.scopes),
        departments=frozenset(key.departments) if key.departments is not None else None,
        brands=frozenset(key.brands) if key.brands is not None else None,
        member_id=key.member_id,
        member_brand_id=key.member_brand_id,
    )


async def create_key(
    session: AsyncSession, data: ApiKeyCreate, *, default_rate_limit: int, key: str | None = None
) -> tuple[ApiKey, str]:
    """Store a new key hashed; return the row and the clear key (shown once)."""
    if data.departments is not None:
        unknown = sorted(set(data.departments) - set(DEPARTMENTS))
        if unknown:
            raise UnknownDepartmentError(
                f"departments must be among {', '.join(DEPARTMENTS)}; got {', '.join(unknown)}",
                field="departments",
            )
    if data.brands is not None and Scope.admin in data.scopes:
        # An admin manages keys, so it could issue itself an unlimited one: a limit would lie.
        raise AdminKeyBrandLimitError(
            "an admin key cannot be limited to brands; drop brands or the admin scope",
            field="brands",
        )
    if (
        data.member_brand_id is not None
        and data.brands is not None
        and data.member_brand_id not in data.brands
    ):
        raise MemberBrandOutsideLimitError(
            "the bound member's brand must be one of the key's brands",
            field="member_brand_id",
        )
    clear = key or generate_key()
    row = ApiKey(
        id=str(uuid.uuid4()),
        name=data.name,
        prefix=clear[:10],
        key_hash=hash_key(clear),
        scopes=sorted({scope.value for scope in data.scopes}),
        departments=sorted(set(data.departments)) if data.departments is not None else None,
        brands=sorted(set(data.brands)) if data.brands is not None else None,
        member_id=data.member_id,
        member_brand_id=data.member_brand_id,
        rate_limit_per_minute=data.rate_limit_per_minute or default_rate_limit,
        created_at=utc_now(),
    )
    repository.add(session, row)
    await session.flush()
    return row, clear


async def get_key(session: AsyncSession, key_id: str) -> ApiKey:
    row = await repository.get(session, key_id)
    if row is None:
        raise ApiKeyNotFoundError(f"no API key with id {key_id}")
    return row


async def revoke_key(session: AsyncSession, key_id: str) -> ApiKey:
    row = await get_key(session, key_id)
    if row.revoked_at is None:
        repository.revoke(row, utc_now())
        await session.flush()
    return row


async def ensure_admin_key(
    session: AsyncSession, *, configured: str | None, default_rate_limit: int
) -> str | None:
    """Make sure an admin key exists. Returns a newly generated clear key, or None.

    With `SOCIALCARE_ADMIN_KEY` set, that key is registered (once). Otherwise, when no active
    admin key exists, one is generated and returned so the caller can show it once.
    """
    if configured:
        if await repository.get_by_hash(session, hash_key(configured)) is None:
            await create_key(
                session,
                ApiKeyCreate(name="bootstrap admin", scopes=[Scope.admin]),
                default_rate_limit=default_rate_limit,
                key=configured,
            )
        return None
    if await repository.has_active_admin(session):
        return None
    _, clear = await create_key(
        session,
        ApiKeyCreate(name="bootstrap admin", scopes=[Scope.admin]),
        default_rate_limit=default_rate_limit,
    )
    return clear


@dataclass
class _CachedKey:
    principal: Principal | None
    rate_limit_per_minute: int
    expires: float


class KeyAuthenticator:
    """Looks keys up by hash with a short cache; a revoke in this process clears it at once."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._cache: dict[str, _CachedKey] = {}

    async def authenticate(
        self, session: AsyncSession, clear_key: str
    ) -> tuple[Principal, int] | None:
        key_hash = hash_key(clear_key)
        now = time.monotonic()
        cached = self._cache.get(key_hash)
        if cached is None or cached.expires < now:
            row = await repository.get_by_hash(session, key_hash)
            active = row is not None and row.revoked_at is None
            cached = _CachedKey(
                principal=principal_of(row) if row is not None and active else None,
                rate_limit_per_minute=row.rate_limit_per_minute if row is not None else 0,
                expires=now + self.ttl,
            )
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_hash] = cached
        if cached.principal is None:
            return None
        return cached.principal, cached.rate_limit_per_minute

    def known_valid(self, clear_key: str) -> bool:
        """Whether `clear_key` is a valid key this process has looked up within the TTL."""
        cached = self._cache.get(hash_key(clear_key))
        return (
            cached is not None
            and cached.principal is not None
            and cached.expires >= (time.monotonic())
        )

    def forget(self, key_id: str) -> None:
        for key_hash, cached in list(self._cache.items()):
            if cached.principal is not None and cached.principal.key_id == key_id:
                del self._cache[key_hash]
