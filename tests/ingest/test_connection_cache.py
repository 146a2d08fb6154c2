"""The webhook connection cache refuses unknown connections cheaply: one lookup per id and TTL,
none for an id that cannot be a connection's, in bounded memory; and the label series of
webhook parts not understood stay bounded whatever senders put in their bodies."""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ingest import handlers
from services.ingest.credentials import CredentialBox
from services.ingest.service.connections import ConnectionCache


class _EmptyDatabase:
    """A session factory whose sessions find nothing, counting the lookups."""

    def __init__(self) -> None:
        self.lookups = 0

    def __call__(self) -> _EmptyDatabase:
        return self

    async def __aenter__(self) -> _EmptyDatabase:
        return self

    async def __aexit__(
        self, *_exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        return None

    async def get(self, *_args: Any) -> None:
        self.lookups += 1


async def test_unknown_ids_are_looked_up_once_per_ttl_and_invalid_ones_never() -> None:
    database = _EmptyDatabase()
    sessions = cast(async_sessionmaker[AsyncSession], database)
    cache = ConnectionCache(60, CredentialBox("test"))
    missing = str(uuid.uuid4())
    for _ in range(100):
        assert await cache.get(sessions, missing) is None
    assert database.lookups == 1
    for bad in ("../../metrics", "x" * 36, "", "1" * 5000):
        assert await cache.get(sessions, bad) is None
    assert database.lookups == 1
    cache.forget(missing)
    assert await cache.get(sessions, missing) is None
    assert database.lookups == 2


async def test_the_cache_stays_bounded_under_a_flood_of_ids() -> None:
    database = _EmptyDatabase()
    sessions = cast(async_sessionmaker[AsyncSession], database)
    cache = ConnectionCache(60, CredentialBox("test"))
    for _ in range(ConnectionCache.max_entries + 500):
        await cache.get(sessions, str(uuid.uuid4()))
    assert len(cache._entries) <= ConnectionCache.max_entries


def test_unknown_part_labels_are_bounded() -> None:
    before = len(handlers._unknown_labels)
    for index in range(handlers.MAX_UNKNOWN_LABELS * 3):
        handlers.count_unknown_part("meta", f"meta.attacker_field_{index}")
    assert len(handlers._unknown_labels) == handlers.MAX_UNKNOWN_LABELS
    assert before <= handlers.MAX_UNKNOWN_LABELS
    series = {
        sample.labels["label"]
        for metric in handlers.UNKNOWN_PARTS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    }
    assert len(series) <= handlers.MAX_UNKNOWN_LABELS + 1
    assert "other" in series
