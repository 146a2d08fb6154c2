"""The fact consumers' Kafka handlers: every public topic kpi folds, by event type.

Batch handlers: each gets every new event of its type in one poll, inside the consumer runner's
transaction (so a redelivered poll changes nothing twice). Reply events other than `reply.sent`
change no KPI and are not subscribed to.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.facts import service
from services.kpi.facts.service import prepare_poll
from shared.bus.consumer import BatchHandler, Preparer
from shared.db import is_sqlite
from shared.events.cases import CASE_EVENT_TYPES
from shared.events.envelope import Envelope
from shared.events.topics import CASES, ENGAGEMENT, GUIDELINES, INTERACTIONS, REPLIES

FACT_TOPICS = [INTERACTIONS, ENGAGEMENT, CASES, REPLIES, GUIDELINES]
# The folds are idempotent by state (services/kpi/facts/service.py): a redelivered event
# changes nothing, so the consumer keeps no processed_events row per event (a third of the
# database work of a fold).
FACTS_CLAIM_EVENTS = False


async def _cases(session: AsyncSession, envelopes: list[Envelope]) -> None:
    await service.fold_cases(session, case_envelopes=envelopes)


async def _replies(session: AsyncSession, envelopes: list[Envelope]) -> None:
    await service.fold_cases(session, reply_envelopes=envelopes)


FACT_HANDLERS: dict[str, BatchHandler] = {
    "interaction.received": service.fold_interactions,
    "interaction.updated": service.fold_interactions,
    "interaction.deleted": service.fold_interactions,
    "engagement.recorded": service.fold_engagement,
    **dict.fromkeys(CASE_EVENT_TYPES, _cases),
    "reply.sent": _replies,
    "guideline.check_completed": service.fold_checks,
}


def fact_preparer(database_url: str) -> Preparer:
    """The fact consumer's poll preparation for the service's database."""
    return prepare_poll("sqlite" if is_sqlite(database_url) else "postgresql")
