"""The gateway: the one public entry point, API keys and scopes, aggregated OpenAPI."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import structlog
from fastapi import FastAPI

from services.gateway import service
from services.gateway.config import GatewaySettings
from services.gateway.config import settings as default_settings
from services.gateway.openapi import OpenApiAggregator
from services.gateway.proxy import PathGuardMiddleware, Proxy
from services.gateway.rate_limit import RateLimiter
from services.gateway.routes import docs_router, keys_router, proxy_router
from services.gateway.state import GatewayState
from shared.app import build_service_app
from shared.runtime import ServiceRuntime

logger = structlog.get_logger("socialcare.gateway")


def show_bootstrap_key(key: str, path: Path | None) -> None:
    """Show a generated admin key once: one line on stderr, and the file `path` (mode 0600)
    when set. Never through the structured log stream, which is shipped and kept."""
    written = ""
    if path is not None:
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(key + "\n")
            os.chmod(path, 0o600)
            written = f" (also written to {path})"
        except OSError as exc:
            logger.warning("bootstrap_admin_key_file_failed", path=str(path), error=str(exc))
    sys.stderr.write(
        f"socialcare gateway: generated the bootstrap admin API key{written}; it is shown "
        f"once / clave de administración generada, se muestra una sola vez: {key}\n"
    )
    sys.stderr.flush()
    logger.warning("bootstrap_admin_key_generated", file=str(path) if written else None)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or default_settings

    async def on_startup(runtime: ServiceRuntime) -> None:
        timeout = httpx.Timeout(
            settings.upstream_timeout_seconds, connect=settings.upstream_connect_timeout_seconds
        )
        client = httpx.AsyncClient(
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=200,
                max_keepalive_connections=50,
                keepalive_expiry=settings.upstream_keepalive_seconds,
            ),
        )
        # For the one retry of an idempotent request: a new connection every time.
        retry_client = httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_connections=50, max_keepalive_connections=0)
        )
        runtime.state = GatewayState(
            client=client,
            retry_client=retry_client,
            proxy=Proxy(settings.upstreams(), client, retry_client),
            openapi=OpenApiAggregator(settings.upstreams(), client, settings.openapi_cache_seconds),
            authenticator=service.KeyAuthenticator(settings.key_cache_seconds),
            rate_limiter=RateLimiter(),
            key_failures=RateLimiter(max_keys=50_000),
        )
        admin = settings.admin_key.get_secret_value() if settings.admin_key else None
        async with runtime.sessions() as session, session.begin():
            generated = await service.ensure_admin_key(
                session, configured=admin, default_rate_limit=settings.default_rate_limit_per_minute
            )
        if generated:
            show_bootstrap_key(generated, settings.admin_key_file)

    async def on_shutdown(runtime: ServiceRuntime) -> None:
        state = runtime.state
        if isinstance(state, GatewayState):
            await state.client.aclose()
            await state.retry_client.aclose()

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
        # Replaced by the aggregated document of every service (routes.docs_router), which
        # the shared /docs shows.
        openapi_url=None,
    )
    app.add_middleware(PathGuardMiddleware)
    return app
