"""The app factory of every service: FastAPI app, middlewares, error handlers, OpenAPI, health
probes, and a lifespan that starts the service's `ServiceRuntime` (shared.runtime).

Each service's `create_app()` calls `build_service_app` with its routers, tables and handlers;
the lifespan starts every resource and stops them in reverse order on shutdown.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from shared.bus.admin import kafka_reachable
from shared.bus.retention import PurgeJob, bus_purge_jobs
from shared.bus.tables import BusTables
from shared.docs import swagger_ui_router
from shared.errors import document_problems, install_error_handlers
from shared.fastpath import FastPathMiddleware, FastRoute
from shared.limits import RequestLimitsMiddleware
from shared.observability import (
    adopt_library_loggers,
    configure_logging,
    health_router,
    install_observability,
)
from shared.runtime import ConsumerSpec, ServiceRuntime
from shared.settings import ServiceSettings

logger = structlog.get_logger("socialcare.app")

Probe = Callable[[], Awaitable[None]]


def operation_id(route: APIRoute) -> str:
    """OpenAPI operation ids are the route functions' names (`create_api_key`, `check_reply`), so
    generated clients read well; the gateway's merge keeps them unique across services."""
    return route.name


def build_service_app(
    *,
    settings: ServiceSettings,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    tables: BusTables | None,
    consumers: Sequence[ConsumerSpec] = (),
    on_startup: Callable[[ServiceRuntime], Awaitable[None]] | None = None,
    on_shutdown: Callable[[ServiceRuntime], Awaitable[None]] | None = None,
    openapi_url: str | None = "/openapi.json",
    docs_url: str | None = "/docs",
    fast_routes: Sequence[FastRoute] = (),
    retention_jobs: Sequence[PurgeJob] = (),
) -> FastAPI:
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    jobs = [*_bus_purge_jobs(settings, tables), *retention_jobs]

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # uvicorn may have installed its own log handlers after the factory ran.
        adopt_library_loggers()
        runtime = ServiceRuntime.open(settings, tables)
        app.state.runtime = runtime
        try:
            await runtime.start_bus(consumers)
            if on_startup is not None:
                await on_startup(runtime)
            runtime.start_retention(jobs)
            logger.info("service_started", service=settings.service_name)
            yield
        finally:
            await runtime.stop(on_shutdown)
            logger.info("service_stopped", service=settings.service_name)

    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=openapi_url,
        docs_url=None,  # FastAPI's would load Swagger UI from a CDN: shared.docs serves it
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    install_error_handlers(app)
    if fast_routes:
        # Added before the observability middleware, so it runs inside it: fast routes get
        # request ids, access metrics and logs like every other route.
        app.add_middleware(FastPathMiddleware, routes=fast_routes)
    # Inside the observability middleware, so refused requests are logged and counted too.
    app.add_middleware(RequestLimitsMiddleware, max_body_bytes=settings.max_request_body_bytes)
    install_observability(app, settings.service_name)
    _document_problems(app)
    # Routes are matched in order: the service's own (the hot ones first, as the service lists
    # them) before the health and metrics probes.
    for router in routers:
        app.include_router(router)
    if docs_url is not None:
        # Over the app's own document, or (the gateway) one a router of its own serves.
        document = openapi_url or "/openapi.json"
        app.include_router(swagger_ui_router(title=title, openapi_url=document, docs_url=docs_url))
    app.include_router(
        health_router(readiness_checks(app, settings, has_outbox=tables is not None))
    )
    return app


def readiness_checks(
    app: FastAPI, settings: ServiceSettings, *, has_outbox: bool
) -> dict[str, Probe]:
    """What `/readyz` checks: the database, and with Kafka the broker, the producer and the
    outbox relay. Each probe reads the runtime the lifespan put on the app."""

    def runtime() -> ServiceRuntime:
        current: ServiceRuntime = app.state.runtime
        return current

    async def database() -> None:
        await runtime().database_ready()

    async def kafka() -> None:
        await kafka_reachable(settings.kafka_bootstrap)

    async def producer() -> None:
        await runtime().producer_ready()

    async def outbox() -> None:
        await runtime().relay_ready()

    checks: dict[str, Probe] = {"database": database}
    if settings.kafka_enabled:
        checks["kafka"] = kafka
        checks["producer"] = producer
        if has_outbox:
            checks["outbox"] = outbox
    return checks


def _bus_purge_jobs(settings: ServiceSettings, tables: BusTables | None) -> list[PurgeJob]:
    if tables is None:
        return []
    return bus_purge_jobs(
        tables,
        outbox_retention=timedelta(hours=settings.outbox_retention_hours),
        processed_retention=timedelta(hours=settings.processed_events_retention_hours),
    )


def _document_problems(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
