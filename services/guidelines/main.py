"""Guidelines: brand guidelines as versioned rule packs and a fast check API."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from services.guidelines.config import GuidelinesSettings
from services.guidelines.config import settings as default_settings
from services.guidelines.engine import load_default_packs
from services.guidelines.models import bus_tables
from services.guidelines.routes import router
from services.guidelines.service import GuidelineCache
from services.guidelines.state import GuidelinesState
from shared.app import build_service_app
from shared.runtime import ServiceRuntime
from shared.text.language import warm_up as warm_up_language


def create_app(settings: GuidelinesSettings | None = None) -> FastAPI:
    settings = settings or default_settings

    async def on_startup(runtime: ServiceRuntime) -> None:
        runtime.state = GuidelinesState(
            cache=GuidelineCache(settings.compiled_cache_size, settings.current_version_ttl_seconds)
        )
        # Packs parse and language models load now, not on the first check.
        await asyncio.to_thread(load_default_packs)
        await asyncio.to_thread(warm_up_language)

    return build_service_app(
        settings=settings,
        title="socialcare guidelines",
        description="Brand guidelines (standards, tone, style, legal, HR) and the check API.",
        routers=[router],
        tables=bus_tables,
        on_startup=on_startup,
    )
