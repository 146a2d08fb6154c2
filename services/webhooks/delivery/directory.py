"""The enabled endpoints as the dispatcher and the fan-out see them: URL, filter, owner limits
and a ready signer. The fan-out checks its copy against the database in every poll's
transaction; the dispatcher's copy is refreshed every `endpoint_cache_seconds` (and at once
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


# Marks a session (one consumer poll's transaction) whose endpoints were checked already.
_CHECKED = "webhooks.endpoints_checked"


class EndpointDirectory:
    """Two readers with two needs:

    - The fan-out (`current`) must see every endpoint committed before the event it handles
      was consumed, whichever replica created it: an integrator told "created" who then
      causes an event expects it. So each poll's transaction first reads the enabled
      endpoints' `(id, updated_at)` stamps (one small query) and reloads when they differ
      from the copy's. A time-to-live alone is not enough: a replica that did not make the
      change (every replica but one, and every new pod of a rollout) would fan events out to
      its stale copy for up to `ttl_seconds` and those deliveries would never exist.
    - The dispatcher (`views`) only needs to catch up eventually: an endpoint it does not
      know yet has its deliveries wait in the table for the next reload.
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], box: SecretBox, ttl_seconds: float
    ) -> None:
        self.sessions = sessions
        self.box = box
        self.ttl_seconds = ttl_seconds
        self._views: dict[str, EndpointView] = {}
        self._stamps: dict[str, datetime] = {}
        self._loaded_at = float("-inf")
        # The soonest moment a rotation's previous secret stops signing: reload then.
        self._expires_at = float("inf")
        # Bumped by `invalidate`: a load that began before the change does not count as fresh.
        self._generation = 0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Reload at the next look (a change committed by this replica)."""
        self._generation += 1
        self._loaded_at = float("-inf")

    def _fresh(self, now: float) -> bool:
        return now - self._loaded_at < self.ttl_seconds and now < self._expires_at

    async def views(self) -> dict[str, EndpointView]:
        """The endpoints as of at most `ttl_seconds` ago (the dispatcher's view)."""
        if self._fresh(time.monotonic()):
            return self._views
        async with self._lock:
            if self._fresh(time.monotonic()):
                return self._views
            async with self.sessions() as session:
                await self._load(session)
            return self._views

    async def current(self, session: AsyncSession) -> dict[str, EndpointView]:
        """The endpoints as `session` sees them now (the fan-out's view), reloaded only when
        an endpoint was added, changed, disabled or deleted since the copy was made."""
        if session.info.get(_CHECKED) is self:
            views: dict[str, EndpointView] = self._views
            return views  # checked already in this transaction (another event type)
        stamps = await repository.enabled_endpoint_stamps(session)
        session.info[_CHECKED] = self
        async with self._lock:
            if stamps != self._stamps or time.monotonic() >= self._expires_at:
                await self._load(session)
            return self._views

    async def _load(self, session: AsyncSession) -> None:
        generation = self._generation
        now = time.monotonic()
        endpoints = await repository.enabled_endpoints(session)
        wall = datetime.now(UTC)
        views: dict[str, EndpointView] = {}
        stamps: dict[str, datetime] = {}
        expires = float("inf")
        for endpoint in endpoints:
            stamps[endpoint.id] = endpoint.updated_at
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
        self._stamps = stamps
        self._expires_at = expires
        # A change made while this load ran may be missing from it: stale at once.
        self._loaded_at = now if generation == self._generation else float("-inf")

    def drop(self, endpoint_id: str) -> None:
        """Forget an endpoint at once (disabled by this replica)."""
        self._views.pop(endpoint_id, None)
        self._stamps.pop(endpoint_id, None)
