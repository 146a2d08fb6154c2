"""The gateway: the one public entry point, API keys and scopes, aggregated OpenAPI."""

from __future__ import annotations

import httpx
import structlog
from fastapi import FastAPI

from services.gateway import service
from services.gateway.config import GatewaySettings
from services.gateway.config import settings as default_settings
from services.gateway.openapi import OpenApiAggregator
from services.gateway.proxy import Proxy
from services.gateway.rate_limit import RateLimiter
from services.gateway.routes import docs_router, keys_router, proxy_router
from shared.app import ServiceRuntime, build_service_app

logger = structlog.get_logger("socialcare.gateway")


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or default_settings

    async def on_startup(runtime: ServiceRuntime) -> None:
        timeout = httpx.Timeout(
            settings.upstream_timeout_seconds, connect=settings.upstream_connect_timeout_seconds
        )
        client = httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_connections=200, max_keepalive_connections=50)
        )
        runtime.extras.update(
            client=client,
            proxy=Proxy(settings.upstreams(), client),
            openapi=OpenApiAggregator(settings.upstreams(), client, settings.openapi_cache_seconds),
            authenticator=service.KeyAuthenticator(settings.key_cache_seconds),
            rate_limiter=RateLimiter(),
        )
        admin = settings.admin_key.get_secret_value() if settings.admin_key else None
        async with runtime.sessions() as session, session.begin():
            generated = await service.ensure_admin_key(
                session, configured=admin, default_rate_limit=settings.default_rate_limit_per_minute
            )
        if generated:
            # Shown once, on the console only (never in the structured log stream).
            pass

    async def on_shutdown(runtime: ServiceRuntime) -> None:
        client = runtime.extras.get("client")
        if isinstance(client, httpx.AsyncClient):
            await client.aclose()

    app = build_service_app(
        settings=settings,
        title="socialcare",
        description=(
            "Cross-functional social customer care. Every call needs "
            "`Authorization: Bearer <API key>`; platform webhooks authenticate by signature."
        ),
        routers=[keys_router, docs_router, proxy_router],
        tables=None,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        # Replaced by the aggregated document of every service (routes.docs_router).
        openapi_url=None,
        docs_url=None,
    )
    return app
