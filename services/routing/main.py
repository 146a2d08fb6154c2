"""Routing: departments, members, cases, SLA timers and the reply workflow.

Served here: intent classification (`/v1/intents/*`, corrections stored as labelled examples),
the team's configuration (`services/routing/team/`: departments and calendars, members,
accounts and grants, responsibilities, SLA policies), the rules (`services/routing/rulebook/`
stores them, `services/routing/rules/` evaluates them), cases (`services/routing/cases/`) and
their replies (`services/routing/replies/`: draft, guideline check, approval, send hand-off).
Its consumers turn every interaction into a case (`routing-cases`), escalate crisis alerts
(`routing-alerts`) and settle replies from their send's outcome (`routing-sends`); the case
scheduler runs SLA clocks, the assignment queue and idle reassignment. Replies and canned
replies (`services/routing/canned/`, suggested for a case) are checked against the brand's
guideline through the guidelines service's check API (`guidelines_client.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from fastapi import FastAPI

from services.routing.canned.routes import routers as canned_routers
from services.routing.cases.routes import router as cases_router
from services.routing.cases.scheduler import CaseScheduler
from services.routing.config import RoutingSettings
from services.routing.config import settings as default_settings
from services.routing.guidelines_client import GuidelinesClient
from services.routing.handlers import (
    ALERTS_GROUP,
    INTAKE_GROUP,
    alert_handlers,
    build_intake,
    intake_handlers,
)
from services.routing.intents import get_classifier
from services.routing.models import IDEMPOTENT_RESPONSES, bus_tables
from services.routing.replies.handlers import SENDS_GROUP, delivery_handlers, send_handlers
from services.routing.replies.models import PENDING_DELIVERY_REPORTS
from services.routing.replies.routes import routers as reply_routers
from services.routing.routes import router
from services.routing.rulebook.routes import router as rules_router
from services.routing.state import RoutingState
from services.routing.team.routes import routers as team_routers
from shared.app import build_service_app
from shared.bus.retention import PurgeJob
from shared.events.topics import ALERTS, INTERACTIONS, SENDS
from shared.heap import tune_interpreter
from shared.runtime import ConsumerSpec, ServiceRuntime
from shared.text.language import warm_up as warm_up_language


def create_app(settings: RoutingSettings | None = None) -> FastAPI:
    settings = settings or default_settings
    intake = build_intake(settings)

    async def on_startup(runtime: ServiceRuntime) -> None:
        # The model and the language detector load now, not on the first request.
        classifier = await asyncio.to_thread(get_classifier, settings.intent_model_path)
        scheduler = CaseScheduler(
            sessions=runtime.sessions,
            tables=bus_tables,
            interval=settings.case_scheduler_interval_seconds,
            on_committed=runtime.notify_outbox,
        )
        guidelines = GuidelinesClient(
            settings.guidelines_url,
            secret=settings.internal_secret,
            timeout=settings.guidelines_timeout_seconds,
        )
        runtime.state = RoutingState(
            intent_classifier=classifier, scheduler=scheduler, guidelines=guidelines
        )
        if settings.case_scheduler_enabled:
            scheduler.task = asyncio.create_task(scheduler.run())
        await asyncio.to_thread(warm_up_language)
        # What start-up loaded (modules, the intent model and language detector, the ORM's and
        # pydantic's tables) lives as long as the process: frozen out of the collector's sight,
        # the collections a busy intake triggers scan only what polls allocate (bench/
        # routing.py: a fifth of the intake's CPU time otherwise; shared/heap.py).
        tune_interpreter()

    async def on_shutdown(runtime: ServiceRuntime) -> None:
        intake.close()
        state = runtime.state
        if isinstance(state, RoutingState) and state.guidelines is not None:
            await state.guidelines.aclose()
        if isinstance(state, RoutingState) and state.scheduler is not None:
            state.scheduler.stop()
            task = state.scheduler.task
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(task, 10)

    return build_service_app(
        settings=settings,
        title="socialcare routing",
        description="Departments, members, cases, assignment, SLA timers and replies; intents.",
        routers=[
            *reply_routers,
            cases_router,
            *canned_routers,
            router,
            *team_routers,
            rules_router,
        ],
        tables=bus_tables,
        consumers=[
            ConsumerSpec(
                group_id=INTAKE_GROUP,
                topics=[INTERACTIONS],
                batch_handlers={**intake_handlers(intake), **delivery_handlers()},
                max_batch=settings.case_intake_batch,
                prepare=intake.prepare,
            ),
            ConsumerSpec(group_id=ALERTS_GROUP, topics=[ALERTS], batch_handlers=alert_handlers()),
            ConsumerSpec(group_id=SENDS_GROUP, topics=[SENDS], batch_handlers=send_handlers()),
        ],
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        retention_jobs=[
            PurgeJob(
                IDEMPOTENT_RESPONSES,
                IDEMPOTENT_RESPONSES.c.created_at,
                timedelta(hours=settings.idempotency_retention_hours),
            ),
            PurgeJob(
                PENDING_DELIVERY_REPORTS,
                PENDING_DELIVERY_REPORTS.c.received_at,
                timedelta(hours=settings.pending_delivery_retention_hours),
            ),
        ],
    )
