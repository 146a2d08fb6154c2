"""Webhooks: signed outbound deliveries of public events to integrators.

This release runs the service's runtime (database, outbox relay, health); endpoints and
deliveries arrive with their own issue.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.webhooks.config import WebhooksSettings
from services.webhooks.config import settings as default_settings
from services.webhooks.models import bus_tables
from shared.app import build_service_app


def create_app(settings: WebhooksSettings | None = None) -> FastAPI:
    return build_service_app(
        settings=settings or default_settings,
        title="socialcare webhooks",
        description="Signed outbound webhooks for integrators.",
        routers=[],
        tables=bus_tables,
    )
