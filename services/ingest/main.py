"""Ingest: signed platform webhooks and the REST intake, normalised, deduplicated, enriched,
archived and published as interaction events.

One app, two roles that can run together (the default) or apart: the web tier verifies webhooks
and accepts them onto Kafka; the `ingest-webhooks` consumer (enabled by
SOCIALCARE_INGEST_CONSUMERS_ENABLED) turns them into interactions. Run more workers than web
processes when enrichment is the bottleneck.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import cast

import structlog
from fastapi import FastAPI
from sqlalchemy import Table

from services.ingest import repository
from services.ingest.config import IngestSettings
from services.ingest.config import settings as default_settings
from services.ingest.credentials import CredentialBox
from services.ingest.enrichment import warm_up
from services.ingest.handlers import build_batch_handlers
from services.ingest.models import Send, bus_tables
from services.ingest.pipeline import GroupCommitWriter
from services.ingest.repository import DELIVERY_KEYS
from services.ingest.routes import (
    FAST_ROUTES,
    connections_router,
    interactions_router,
    webhooks_router,
)
from services.ingest.sending.handlers import build_send_handlers
from services.ingest.sending.worker import SendWorker
from services.ingest.service.connections import ConnectionCache
from services.ingest.state import IngestState
from shared.app import build_service_app
from shared.bus.retention import PurgeJob
from shared.events.topics import INGEST_WEBHOOKS, SENDS
from shared.rate_limit import RateLimiter
from shared.runtime import ConsumerSpec, ServiceRuntime

logger = structlog.get_logger("socialcare.ingest")
SENDS_TABLE = cast(Table, Send.__table__)


async def _purge_expired(runtime: ServiceRuntime, settings: IngestSettings) -> None:
    """Drop raw bodies past their retention and stale idempotency records, hourly."""
    while True:
        now = datetime.now(UTC)
        try:
            async with runtime.sessions() as session, session.begin():
                await repository.purge_expired(
                    session,
                    now=now,
                    idempotent_before=now - timedelta(hours=settings.idempotency_retention_hours),
                )
        except Exception as exc:
            logger.warning("purge_failed", error=str(exc))
        await asyncio.sleep(3600)


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or default_settings
    # The send worker runs where the consumers run (the worker role); its handler wakes it.
    senders: list[SendWorker] = []

    def wake_senders() -> None:
        for sender in senders:
            sender.wake()

    async def on_startup(runtime: ServiceRuntime) -> None:
        box = CredentialBox(settings.secrets_key.get_secret_value())
        if settings.kafka_enabled and settings.consumers_enabled:
            sender = SendWorker(
                sessions=runtime.sessions,
                box=box,
                settings=settings,
                notify_outbox=runtime.notify_outbox,
            )
            sender.start()
            senders.append(sender)
        writer = GroupCommitWriter(runtime.sessions, on_committed=runtime.notify_outbox)
        writer.start()
        state = IngestState(
            credentials=box,
            connections=ConnectionCache(settings.connection_cache_seconds, box),
            crc_limiter=RateLimiter(max_keys=ConnectionCache.max_entries),
            writer=writer,
        )
        runtime.state = state
        # Language models and lexicons load now, not on the first webhook.
        await asyncio.to_thread(warm_up)
        state.purge = asyncio.create_task(_purge_expired(runtime, settings))

    async def on_shutdown(runtime: ServiceRuntime) -> None:
        while senders:
            await senders.pop().stop()
        state = runtime.state
        if not isinstance(state, IngestState):
            return
        await state.writer.stop()
        task = state.purge
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return build_service_app(
        settings=settings,
        title="socialcare ingest",
        description="Platform webhooks (Meta, X) and the REST intake for every other channel.",
        routers=[webhooks_router, interactions_router, connections_router],
        tables=bus_tables,
        consumers=[
            ConsumerSpec(
                group_id="ingest-webhooks",
                topics=[INGEST_WEBHOOKS],
                batch_handlers=build_batch_handlers(settings),
                max_batch=settings.webhook_worker_batch,
            ),
            ConsumerSpec(
                group_id="ingest-sends",
                topics=[SENDS],
                handlers=build_send_handlers(wake_senders),
            ),
        ],
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        fast_routes=FAST_ROUTES,
        retention_jobs=[
            PurgeJob(
                DELIVERY_KEYS,
                DELIVERY_KEYS.c.created_at,
                timedelta(hours=settings.delivery_keys_retention_hours),
            ),
            # Finished sends only (unfinished ones have no finished_at).
            PurgeJob(
                SENDS_TABLE,
                SENDS_TABLE.c.finished_at,
                timedelta(days=settings.sends_retention_days),
            ),
        ],
    )
