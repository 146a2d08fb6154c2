"""The enabled endpoints as the dispatcher and the fan-out see them: URL, filter, owner limits
and a ready signer, refreshed from the database every `endpoint_cache_seconds` (and at once
after a change made by this replica)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from cryptography.fernet import InvalidToken
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.webhooks import repository
from services.webhooks.filters import Audience, matches, may_receive
from services.webhooks.models import Endpoint
from services.webhooks.signing import SecretBox, Signer
from shared.auth import Principal, Scope

logger = structlog.get_logger("socialcare.webhooks")


@dataclass(frozen=True, slots=True)
class EndpointView:
    id: str
    url: str
    patterns: tuple[str, ...]
    brand_ids: frozenset[str] | None
    owner: Principal
    signer: Signer
    rate_limit_per_second: int | None

    def wants(self, event_type: str, audience: Audience) -> bool:
        return matches(self.patterns, event_type) and may_receive(
            self.owner, self.brand_ids, audience
        )


def owner_of(endpoint: Endpoint) -> Principal:
    return Principal(
        key_id=endpoint.owner_key_id,
        scopes=frozenset({Scope.admin.value}) if endpoint.owner_admin else frozenset(),
        departments=(
            frozenset(endpoint.owner_departments)
            if endpoint.owner_departments is not None
            else None
        ),
        brands=frozenset(endpoint.owner_brands) if endpoint.owner_brands is not None else None,
    )


def signer_of(endpoint: Endpoint, box: SecretBox, now: datetime) -> Signer:
    secrets = [box.open(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted is not None
        and endpoint.previous_secret_expires_at is not None
        and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(box.open(endpoint.previous_secret_encrypted))
    return Signer(*secrets)


RECHECK_SECONDS = 5.0


class EndpointDirectory:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], box: SecretBox, ttl_seconds: float
    ) -> None:
        self.sessions = sessions
        self.box = box
        self.ttl_seconds = ttl_seconds
        self._views: dict[str, EndpointView] = {}
        self._loaded_at = float("-inf")
        # The soonest moment a rotation's previous secret stops signing: reload then.
        self._expires_at = float("inf")
        self._recheck_until = float("-inf")
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Reload now, and keep reloading for a moment: the change that called this commits
        just after, and a reload in between would still see the old rows. The moment is 5 s,
        not less: on a busy host the commit can come seconds after this call, and an event
        consumed from a stale view would miss an endpoint its creator was already told of."""
        self._loaded_at = float("-inf")
        self._recheck_until = time.monotonic() + RECHECK_SECONDS

    def _fresh(self, now: float) -> bool:
        ttl = 0.05 if now < self._recheck_until else self.ttl_seconds
        return now - self._loaded_at < ttl and now < self._expires_at

    async def views(self) -> dict[str, EndpointView]:
        if self._fresh(time.monotonic()):
            return self._views
        async with self._lock:
            now = time.monotonic()
            if self._fresh(now):
                return self._views
            async with self.sessions() as session:
                endpoints = await repository.enabled_endpoints(session)
            wall = datetime.now(UTC)
            views: dict[str, EndpointView] = {}
            expires = float("inf")
            for endpoint in endpoints:
                try:
                    signer = signer_of(endpoint, self.box, wall)
                except InvalidToken:
                    # Sealed with another key: skipped (its deliveries wait) rather than
                    # stopping every endpoint's deliveries.
                    logger.error("webhook_secret_unreadable", endpoint_id=endpoint.id)
                    continue
                views[endpoint.id] = EndpointView(
                    id=endpoint.id,
                    url=endpoint.url,
                    patterns=tuple(endpoint.event_types),
                    brand_ids=(
                        frozenset(endpoint.brand_ids) if endpoint.brand_ids is not None else None
                    ),
                    owner=owner_of(endpoint),
                    signer=signer,
                    rate_limit_per_second=endpoint.rate_limit_per_second,
                )
                previous = endpoint.previous_secret_expires_at
                if previous is not None and previous > wall:
                    expires = min(expires, now + (previous - wall).total_seconds())
            self._views = views
            self._loaded_at = now
            self._expires_at = expires
            return views

    def drop(self, endpoint_id: str) -> None:
        """Forget an endpoint at once (disabled by this replica)."""
        self._views.pop(endpoint_id, None)
