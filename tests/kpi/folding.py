"""Folding envelopes into a kpi database the way the consumer runner does, and reading the
rollups back (tests of kpi only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.kpi.facts.handlers import FACT_HANDLERS
from services.kpi.facts.service import prepare_poll
from services.kpi.rollups.measures import MEASURES
from services.kpi.rollups.models import ROLLUP_SKETCHES, ROLLUPS
from shared.bulk import dialect_of
from shared.bus.consumer import PREPARED
from shared.events.envelope import Envelope


async def fold_poll(
    session: AsyncSession, envelopes: Sequence[Envelope], *, prepared: bool = False
) -> None:
    """One poll: every event of a type to its batch handler, types in order of appearance.
    `prepared`: as the fact consumer does, each event id once, the poll worked out first by
    the consumer's `prepare` (services/kpi/facts/service.py)."""
    if prepared:
        envelopes = list({envelope.id: envelope for envelope in reversed(envelopes)}.values())
        envelopes.reverse()  # the first of each id, in order
    groups: dict[str, list[Envelope]] = {}
    for envelope in envelopes:
        if envelope.type in FACT_HANDLERS:
            groups.setdefault(envelope.type, []).append(envelope)
    if prepared:
        session.info[PREPARED] = prepare_poll(dialect_of(session))(groups)
    for event_type, group in groups.items():
        await FACT_HANDLERS[event_type](session, group)


async def fold(
    sessions: async_sessionmaker[AsyncSession],
    polls: Sequence[Sequence[Envelope]],
    *,
    prepared: bool = False,
) -> None:
    for poll in polls:
        async with sessions() as session, session.begin():
            await fold_poll(session, poll, prepared=prepared)


Rollups = tuple[dict[tuple[Any, ...], tuple[int, ...]], dict[tuple[Any, ...], int]]


async def read_rollups(sessions: async_sessionmaker[AsyncSession], brand: str) -> Rollups:
    """The brand's non-zero rollup rows and sketch bins, keyed without the brand."""
    key_names = ("granularity", "bucket", "channel", "department", "member_id", "intent")
    async with sessions() as session:
        rows = (await session.execute(select(ROLLUPS).where(ROLLUPS.c.brand_id == brand))).all()
        bins = (
            await session.execute(
                select(ROLLUP_SKETCHES).where(ROLLUP_SKETCHES.c.brand_id == brand)
            )
        ).all()
    measures = {}
    for row in rows:
        values = tuple(int(getattr(row, name)) for name in MEASURES)
        if any(values):
            measures[tuple(getattr(row, name) for name in key_names)] = values
    sketches = {}
    for row in bins:
        mapping = row._mapping
        if mapping["count"]:
            key = (*(mapping[name] for name in key_names), mapping["metric"], mapping["bin"])
            sketches[key] = int(mapping["count"])
    return measures, sketches
