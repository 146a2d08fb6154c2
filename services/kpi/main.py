"""KPI: response times, SLA compliance, sentiment and engagement rollups, goals and alerts.

This release runs the service's runtime (database, outbox relay, health); the rollups arrive with
their own issue.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.kpi.config import KpiSettings
from services.kpi.config import settings as default_settings
from services.kpi.models import bus_tables
from shared.app import build_service_app


def create_app(settings: KpiSettings | None = None) -> FastAPI:
    return build_service_app(
        settings=settings or default_settings,
        title="socialcare kpi",
        description="Response times, SLA compliance, sentiment, engagement, goals and alerts.",
        routers=[],
        tables=bus_tables,
    )
