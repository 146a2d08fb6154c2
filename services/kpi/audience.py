"""The audience consumer: fans, ideas and crisis / SLA-burst alerts from interactions and cases.

Its own consumer group (`kpi-audience`), so it keeps its own offsets beside the rollups. Each
interaction is classified once here (routing's intent model, in-process: interaction events
carry no intent) and the prediction is shared by ideas (feedback_idea) and alerts (crisis).
Thin: envelopes → service calls, inside the runner's transaction (deduplicated on event id);
engagement records on fans' posts count for their influence.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.alerts import service as alerts
from services.kpi.alerts.detector import CrisisConfig
from services.kpi.alerts.models import AlertRecord
from services.kpi.config import KpiSettings
from services.kpi.fans import service as fans
from services.kpi.fans.models import (
    FanCase,
    FanEngagement,
    FanInteraction,
    FanPerson,
    FanProfile,
)
from services.kpi.fans.routes import thresholds_of
from services.kpi.ideas import service as ideas
from services.kpi.ideas.models import IdeaItem
from services.kpi.models import Base
from services.routing.intents import (
    SUPPORTED_LANGUAGES,
    IntentInputError,
    IntentPrediction,
    get_classifier,
)
from shared.bus.consumer import BatchHandler
from shared.bus.retention import PurgeJob
from shared.events.cases import CASE_EVENT_TYPES, CaseEvent
from shared.events.envelope import Envelope
from shared.events.interactions import EngagementRecorded, Interaction, InteractionDeleted
from shared.events.topics import CASES, ENGAGEMENT, INTERACTIONS
from shared.runtime import ConsumerSpec


def classify(interaction: Interaction) -> IntentPrediction | None:
    """The post's intent, or None for a post without text."""
    lang = interaction.lang if interaction.lang in SUPPORTED_LANGUAGES else None
    try:
        return get_classifier().classify(interaction.text, lang)
    except IntentInputError:
        return None


def build_handlers(settings: KpiSettings) -> dict[str, BatchHandler]:
    """Batch handlers: each poll's events of a type in one call, and each fan touched by them
    refreshed once at its end (not once per event)."""
    thresholds = thresholds_of(settings)
    crisis = CrisisConfig(min_followers=settings.alert_author_min_followers)

    async def interactions(session: AsyncSession, envelopes: list[Envelope]) -> None:
        touched: set[str] = set()
        for envelope in envelopes:
            data = envelope.data
            assert isinstance(data, Interaction)
            prediction = classify(data)
            profile_id = await fans.record_interaction(session, data, thresholds, touched)
            await ideas.collect(
                session,
                data,
                prediction,
                profile_id=profile_id,
                min_confidence=settings.idea_min_confidence,
                edited=envelope.type == "interaction.updated",
            )
            if envelope.type == "interaction.received":
                await alerts.observe_interaction(session, data, prediction, crisis)
        await fans.refresh_people(session, touched, thresholds)

    async def deletions(session: AsyncSession, envelopes: list[Envelope]) -> None:
        touched: set[str] = set()
        for envelope in envelopes:
            data = envelope.data
            assert isinstance(data, InteractionDeleted)
            await fans.forget_interaction(session, data, thresholds, touched)
            await ideas.forget(session, data.id)
        await fans.refresh_people(session, touched, thresholds)

    async def engagement(session: AsyncSession, envelopes: list[Envelope]) -> None:
        records = [
            (envelope.id, envelope.data)
            for envelope in envelopes
            if isinstance(envelope.data, EngagementRecorded)
        ]
        touched: set[str] = set()
        await fans.record_engagement(session, records, thresholds, touched)
        await fans.refresh_people(session, touched, thresholds)

    async def cases(session: AsyncSession, envelopes: list[Envelope]) -> None:
        touched: set[str] = set()
        for envelope in envelopes:
            data = envelope.data
            assert isinstance(data, CaseEvent)
            await fans.record_case(session, data, thresholds, touched)
            await alerts.observe_case(session, envelope.type, data)
        await fans.refresh_people(session, touched, thresholds)

    handlers: dict[str, BatchHandler] = {
        "interaction.received": interactions,
        "interaction.updated": interactions,
        "interaction.deleted": deletions,
        "engagement.recorded": engagement,
    }
    handlers.update(dict.fromkeys(CASE_EVENT_TYPES, cases))
    return handlers


def audience_consumer(settings: KpiSettings) -> ConsumerSpec:
    # Small polls: classification is CPU and shares the process with the API.
    return ConsumerSpec(
        group_id=settings.audience_group_id,
        topics=[INTERACTIONS, ENGAGEMENT, CASES],
        batch_handlers=build_handlers(settings),
        max_batch=100,
    )


def _purge(model: type[Base], column: str, retention: timedelta) -> PurgeJob:
    table = cast(Table, model.__table__)
    return PurgeJob(table, table.c[column], retention)


def audience_retention_jobs(settings: KpiSettings) -> list[PurgeJob]:
    """Personal data and history are kept for a while, not for ever."""
    fans_for = timedelta(days=settings.fan_retention_days)
    return [
        _purge(FanInteraction, "created_at", fans_for),
        _purge(FanEngagement, "occurred_at", fans_for),
        _purge(FanCase, "opened_at", fans_for),
        _purge(FanProfile, "last_contact_at", fans_for),
        _purge(FanPerson, "last_contact_at", fans_for),
        _purge(IdeaItem, "created_at", timedelta(days=settings.idea_retention_days)),
        _purge(AlertRecord, "resolved_at", timedelta(days=settings.alert_retention_days)),
    ]


async def warm_up() -> None:
    """Load the intent model before the first event, not on it."""
    await asyncio.to_thread(get_classifier)
