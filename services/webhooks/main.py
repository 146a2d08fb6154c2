"""Webhooks: signed outbound deliveries of public events to integrators.

The consumer turns each deliverable event into one pending delivery per matching endpoint
(`handlers.py`); the dispatcher (`delivery/dispatcher.py`) claims due deliveries and sends
them, signed to the Standard Webhooks spec, with persisted retries.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import cast

import structlog
from fastapi import FastAPI
from sqlalchemy import Table

from services.webhooks import service
from services.webhooks.config import WebhooksSettings
from services.webhooks.config import settings as default_settings
from services.webhooks.delivery.directory import EndpointDirectory
from services.webhooks.delivery.dispatcher import Dispatcher
from services.webhooks.delivery.sender import Sender
from services.webhooks.filters import deliverable_topics
from services.webhooks.handlers import build_batch_handlers
from services.webhooks.models import IdempotentResponse, WebhookEvent, bus_tables
from services.webhooks.routes import router, types_router
from services.webhooks.signing import SecretBox
from services.webhooks.ssrf import Resolver
from services.webhooks.state import WebhooksState
from shared.app import build_service_app
from shared.bus.retention import PurgeJob
from shared.runtime import ConsumerSpec, ServiceRuntime

logger = structlog.get_logger("socialcare.webhooks")


def _chained(first: Callable[[], None] | None, then: Callable[[], None]) -> Callable[[], None]:
    def both() -> None:
        if first is not None:
            first()
        then()

    return both


def create_app(settings: WebhooksSettings | None = None) -> FastAPI:
    settings = settings or default_settings
    events = cast(Table, WebhookEvent.__table__)
    answers = cast(Table, IdempotentResponse.__table__)
    holder: dict[str, WebhooksState] = {}

    def directory() -> EndpointDirectory:
        return holder["state"].directory

    async def on_startup(runtime: ServiceRuntime) -> None:
        box = SecretBox(*settings.secrets_key_materials())
        try:
            async with runtime.sessions() as session, session.begin():
                await service.reseal_secrets(session, box)
        except Exception as exc:  # the next start tries again; older keys still open them
            logger.warning("webhook_secrets_not_resealed", error=str(exc))
        resolver = Resolver(settings.ssrf_allowlist, cache_seconds=settings.dns_cache_seconds)
        state = WebhooksState(
            box=box,
            resolver=resolver,
            sender=Sender(
                resolver,
                timeout=settings.request_timeout_seconds,
                connections_per_pool=settings.max_in_flight_per_endpoint,
            ),
            directory=EndpointDirectory(runtime.sessions, box, settings.endpoint_cache_seconds),
        )
        holder["state"] = state
        runtime.state = state
        if settings.consumers_enabled:
            dispatcher = Dispatcher(
                settings=settings,
                sessions=runtime.sessions,
                tables=bus_tables,
                directory=state.directory,
                sender=state.sender,
                notify_outbox=runtime.notify_outbox,
            )
            state.dispatcher = dispatcher
            # New deliveries are due at once: wake the dispatcher when the consumer commits.
            for runner in runtime.consumers:
                runner.on_committed = _chained(runner.on_committed, dispatcher.wake)
            state.dispatch_task = asyncio.create_task(dispatcher.run())

    async def on_shutdown(runtime: ServiceRuntime) -> None:
        state = holder.get("state")
        if state is None:
            return
        if state.dispatcher is not None and state.dispatch_task is not None:
            # Attempts in flight are cut short and handed back; finished ones are written.
            state.dispatcher.stop()
            try:
                async with asyncio.timeout(10):
                    await state.dispatch_task
            except TimeoutError:
                state.dispatch_task.cancel()
        with contextlib.suppress(Exception):
            await state.sender.close()

    return build_service_app(
        settings=settings,
        title="socialcare webhooks",
        description=(
            "Signed outbound webhooks for integrators (Standard Webhooks): endpoints, "
            "deliveries with persisted retries, the delivery log, retries and replays."
        ),
        routers=[router, types_router],
        tables=bus_tables,
        consumers=[
            ConsumerSpec(
                group_id=settings.consumer_group,
                topics=deliverable_topics(),
                batch_handlers=build_batch_handlers(directory),
            )
        ],
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        retention_jobs=[
            # Deliveries and attempts go with their event (ON DELETE CASCADE).
            PurgeJob(
                events,
                events.c.occurred_at,
                timedelta(days=settings.delivery_retention_days),
            ),
            PurgeJob(
                answers,
                answers.c.created_at,
                timedelta(hours=settings.idempotency_retention_hours),
            ),
        ],
    )
