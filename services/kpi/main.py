"""KPI: response times, SLA compliance, sentiment and engagement rollups, goals and alerts.

This release runs the service's runtime (database, outbox relay, health), the audience
consumer (fans, ideas, crisis and SLA-burst alerts) and their APIs.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.kpi.alerts.routes import alerts_router
from services.kpi.audience import audience_consumer, audience_retention_jobs, warm_up
from services.kpi.config import KpiSettings
from services.kpi.config import settings as default_settings
from services.kpi.fans.routes import ambassadors_router, fans_router
from services.kpi.ideas.routes import ideas_router
from services.kpi.models import bus_tables
from shared.app import ServiceRuntime, build_service_app


def create_app(settings: KpiSettings | None = None) -> FastAPI:
    settings = settings or default_settings

    async def on_startup(runtime: ServiceRuntime) -> None:
        await warm_up()

    return build_service_app(
        settings=settings,
        title="socialcare kpi",
        description="Response times, SLA compliance, sentiment, engagement, goals and alerts.",
        routers=[fans_router, ambassadors_router, ideas_router, alerts_router],
        tables=bus_tables,
        consumers=[audience_consumer(settings)],
        on_startup=on_startup,
        retention_jobs=audience_retention_jobs(settings),
    )
