"""Routing: departments, members, cases, SLA timers and the reply workflow.

Served here: intent classification (`/v1/intents/*`, corrections stored as labelled examples),
the team's configuration (`services/routing/team/`: departments and calendars, members,
accounts and grants, responsibilities, SLA policies) and the rules (`services/routing/rulebook/`
stores them, `services/routing/rules/` evaluates them).
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from services.routing.config import RoutingSettings
from services.routing.config import settings as default_settings
from services.routing.intents import get_classifier
from services.routing.models import bus_tables
from services.routing.routes import router
from services.routing.rulebook.routes import router as rules_router
from services.routing.state import RoutingState
from services.routing.team.routes import routers as team_routers
from shared.app import build_service_app
from shared.runtime import ServiceRuntime
from shared.text.language import warm_up as warm_up_language


def create_app(settings: RoutingSettings | None = None) -> FastAPI:
    settings = settings or default_settings

    async def on_startup(runtime: ServiceRuntime) -> None:
        # The model and the language detector load now, not on the first request.
        classifier = await asyncio.to_thread(get_classifier, settings.intent_model_path)
        runtime.state = RoutingState(intent_classifier=classifier)
        await asyncio.to_thread(warm_up_language)

    return build_service_app(
        settings=settings,
        title="socialcare routing",
        description="Departments, members, cases, assignment, SLA timers and replies; intents.",
        routers=[router, *team_routers, rules_router],
        tables=bus_tables,
        on_startup=on_startup,
    )
