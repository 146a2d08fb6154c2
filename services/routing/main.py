"""Routing: departments, members, cases, SLA timers and the reply workflow.

This release runs the service's runtime (database, outbox relay, health); the team model and
case handling arrive with their own issue.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.routing.config import RoutingSettings
from services.routing.config import settings as default_settings
from services.routing.models import bus_tables
from shared.app import build_service_app


def create_app(settings: RoutingSettings | None = None) -> FastAPI:
    return build_service_app(
        settings=settings or default_settings,
        title="socialcare routing",
        description="Departments, members, cases, assignment, SLA timers and replies.",
        routers=[],
        tables=bus_tables,
    )
