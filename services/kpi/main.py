"""KPI: facts and rollups folded from every public topic, the KPI API, goals and goal alerts;
the audience consumer (fans, ideas, crisis and SLA-burst alerts) and their APIs."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import FastAPI

from services.kpi.alerts.checker import run_alert_checks
from services.kpi.alerts.detector import CrisisConfig
from services.kpi.alerts.routes import alerts_router
from services.kpi.audience import audience_consumer, audience_retention_jobs, warm_up
from services.kpi.config import KpiSettings
from services.kpi.config import settings as default_settings
from services.kpi.facts.handlers import (
    FACT_HANDLERS,
    FACT_TOPICS,
    FACTS_CLAIM_EVENTS,
    fact_preparer,
)
from services.kpi.fans.routes import ambassadors_router, fans_router
from services.kpi.goals.evaluator import run_goal_evaluator
from services.kpi.goals.routes import router as goals_router
from services.kpi.ideas.routes import ideas_router
from services.kpi.metrics.routes import router as kpis_router
from services.kpi.models import bus_tables
from shared import heap
from shared.app import build_service_app
from shared.runtime import ConsumerSpec, ServiceRuntime

# A young-generation collection once this many more container objects are alive than at the
# last one, instead of 700. The fact consumer holds two polls at a time (the one in its
# transaction, the next one parsed), about 30 tracked objects per event: 60,000 for polls of
# 1,000. At 700 a collection ran every 20 events or so and found no garbage, walking the same
# live envelopes again and again (and in older generations every few milliseconds, each
# holding the GIL for milliseconds): a quarter of the consumer's CPU per event and a stall in
# its pipeline. A poll's objects are freed with it, so they are now never walked; cycles are
# still collected, later.
GC_YOUNG_THRESHOLD = 100_000


def tune_interpreter() -> None:
    """What the service sets in its process once started (the fact consumer's fold needs it;
    bench/kpi.py does the same): shared/heap.py with a rarer young collection."""
    heap.tune_interpreter(young_threshold=GC_YOUNG_THRESHOLD)


def create_app(settings: KpiSettings | None = None) -> FastAPI:
    settings = settings or default_settings
    evaluator: list[asyncio.Task[None]] = []

    async def on_startup(runtime: ServiceRuntime) -> None:
        await warm_up()
        tune_interpreter()
        if settings.consumers_enabled:
            evaluator.append(
                asyncio.create_task(
                    run_goal_evaluator(
                        runtime.sessions,
                        settings.goal_evaluation_interval_seconds,
                        runtime.notify_outbox,
                    )
                )
            )
        if settings.consumers_enabled and settings.audience_enabled:
            evaluator.append(
                asyncio.create_task(
                    run_alert_checks(
                        runtime.sessions,
                        settings.alert_check_interval_seconds,
                        CrisisConfig(min_followers=settings.alert_author_min_followers),
                        runtime.notify_outbox,
                    )
                )
            )

    async def on_shutdown(runtime: ServiceRuntime) -> None:
        for task in evaluator:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return build_service_app(
        settings=settings,
        title="socialcare kpi",
        description="Response times, SLA compliance, sentiment, engagement, goals and alerts.",
        routers=[
            kpis_router,
            goals_router,
            fans_router,
            ambassadors_router,
            ideas_router,
            alerts_router,
        ],
        tables=bus_tables,
        consumers=[
            ConsumerSpec(
                group_id=settings.facts_group_id,
                topics=FACT_TOPICS,
                batch_handlers=FACT_HANDLERS,
                max_batch=settings.facts_max_batch,
                prepare=fact_preparer(settings.database_url),
                claim_events=FACTS_CLAIM_EVENTS,
            ),
            *([audience_consumer(settings)] if settings.audience_enabled else []),
        ],
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        retention_jobs=audience_retention_jobs(settings),
    )
