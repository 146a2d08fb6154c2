"""The common shape of a service: settings, database, producer, outbox relay, consumers, health.

Each service's `create_app()` calls `build_service_app` with its routers, tables and handlers; the
lifespan builds every resource and stops them in reverse order on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.bus.admin import ensure_topics, kafka_reachable
from shared.bus.consumer import BatchHandler, ConsumerRunner, Handler
from shared.bus.outbox import OutboxRelay
from shared.bus.producer import EventProducer
from shared.bus.retention import PurgeJob, bus_purge_jobs, run_retention
from shared.bus.tables import BusTables
from shared.db import create_engine, session_factory
from shared.errors import ServiceUnavailableError, document_problems, install_error_handlers
from shared.events.topics import TOPIC_CONFIGS, all_topics
from shared.fastpath import FastPathMiddleware, FastRoute
from shared.limits import RequestLimitsMiddleware
from shared.observability import (
    adopt_library_loggers,
    configure_logging,
    health_router,
    install_observability,
)
from shared.settings import ServiceSettings

logger = structlog.get_logger("socialcare.app")

StateT = TypeVar("StateT")


@dataclass
class ConsumerSpec:
    """A consumer group of this service: which topics, which handlers."""

    group_id: str
    topics: list[str]
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    batch_handlers: Mapping[str, BatchHandler] = field(default_factory=dict)
    # Records per poll (one transaction); small for CPU-heavy handlers sharing a web process.
    max_batch: int = 500


@dataclass
class ServiceRuntime:
    """Everything the lifespan built, reachable from `request.app.state.runtime`."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tables: BusTables | None
    producer: EventProducer | None = None
    relay: OutboxRelay | None = None
    consumers: list[ConsumerRunner] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    retention: asyncio.Task[None] | None = None
    # The service's own resources: a small dataclass of its own, set by its `on_startup`.
    state: object | None = None

    def state_as(self, kind: type[StateT]) -> StateT:
        """The service's own state, typed; an error if the app has not started it."""
        if not isinstance(self.state, kind):
            raise RuntimeError(f"the service has no {kind.__name__}: it has not started")
        return self.state

    def notify_outbox(self) -> None:
        if self.relay is not None:
            self.relay.notify()

    def require_producer(self) -> EventProducer:
        if self.producer is None or not self.producer.started:
            raise ServiceUnavailableError("the event bus is not available", retry_after=5)
        return self.producer


async def _start_producer(settings: ServiceSettings) -> EventProducer:
    producer = EventProducer(
        settings.kafka_bootstrap,
        client_id=settings.service_name,
        linger_ms=settings.kafka_linger_ms,
        stall_seconds=settings.kafka_producer_stall_seconds,
        unready_after_seconds=settings.kafka_unready_after_seconds,
    )
    for attempt in range(1, 31):
        try:
            await producer.start()
            return producer
        except Exception as exc:
            if attempt == 30:
                raise
            logger.warning("kafka_not_ready", attempt=attempt, error=str(exc))
            await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


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
    purge_jobs = (
        bus_purge_jobs(
            tables,
            outbox_retention=timedelta(hours=settings.outbox_retention_hours),
            processed_retention=timedelta(hours=settings.processed_events_retention_hours),
        )
        if tables is not None
        else []
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # uvicorn may have installed its own log handlers after the factory ran.
        adopt_library_loggers()
        engine = create_engine(settings.database_url, schema=settings.schema_name)
        runtime = ServiceRuntime(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            tables=tables,
        )
        app.state.runtime = runtime
        try:
            if settings.kafka_enabled:
                if settings.kafka_create_topics:
                    await ensure_topics(
                        settings.kafka_bootstrap,
                        all_topics(),
                        partitions=settings.kafka_topic_partitions,
                        replication_factor=settings.kafka_topic_replication_factor,
                        configs=TOPIC_CONFIGS,
                    )
                runtime.producer = await _start_producer(settings)
                if tables is not None:
                    runtime.relay = OutboxRelay(
                        service=settings.service_name,
                        sessions=runtime.sessions,
                        tables=tables,
                        producer=runtime.producer,
                        bootstrap=settings.kafka_bootstrap,
                        poll_interval=settings.outbox_poll_interval_seconds,
                        stall_seconds=settings.outbox_stall_seconds,
                    )
                    runtime.tasks.append(asyncio.create_task(runtime.relay.run()))
                if settings.consumers_enabled and tables is not None:
                    for spec in consumers:
                        runner = ConsumerRunner(
                            name=f"{settings.service_name}.{spec.group_id}",
                            bootstrap=settings.kafka_bootstrap,
                            topics=spec.topics,
                            group_id=spec.group_id,
                            handlers=spec.handlers,
                            batch_handlers=spec.batch_handlers,
                            sessions=runtime.sessions,
                            tables=tables,
                            producer=runtime.producer,
                            on_committed=runtime.notify_outbox,
                            max_batch=spec.max_batch,
                        )
                        runtime.consumers.append(runner)
                        runtime.tasks.append(asyncio.create_task(runner.run()))
            if on_startup is not None:
                await on_startup(runtime)
            jobs = [*purge_jobs, *retention_jobs]
            if jobs:
                runtime.retention = asyncio.create_task(
                    run_retention(
                        runtime.sessions,
                        jobs,
                        service=settings.service_name,
                        interval_seconds=settings.retention_purge_interval_seconds,
                    )
                )
            logger.info("service_started", service=settings.service_name)
            yield
        finally:
            if runtime.retention is not None:
                runtime.retention.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runtime.retention
            if on_shutdown is not None:
                await on_shutdown(runtime)
            for runner in runtime.consumers:
                runner.stop()
            if runtime.relay is not None:
                runtime.relay.stop()
            # Every step is bounded (20 s in all; pods get 40 s, deploy/k8s): with
            # Kafka unreachable, commits, group leaves and flushes would retry for ever and a
            # stopping pod would never exit. What is cut short was not acknowledged: webhooks
            # were refused, outbox rows stay pending for the next relay.
            if runtime.tasks:
                _done, pending = await asyncio.wait(runtime.tasks, timeout=10)
                for task in pending:
                    task.cancel()
                if pending:
                    _done, stuck = await asyncio.wait(pending, timeout=5)
                    if stuck:
                        logger.warning("shutdown_tasks_abandoned", count=len(stuck))
            if runtime.producer is not None:
                try:
                    async with asyncio.timeout(5):
                        await runtime.producer.stop()
                except TimeoutError:
                    logger.warning("producer_stop_timed_out")
            await engine.dispose()
            logger.info("service_stopped", service=settings.service_name)

    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=openapi_url,
        docs_url=docs_url,
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

    async def database_ready() -> None:
        runtime: ServiceRuntime = app.state.runtime
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def kafka_ready() -> None:
        await kafka_reachable(settings.kafka_bootstrap)

    async def producer_ready() -> None:
        """Records are being acknowledged: the service can accept durably."""
        runtime: ServiceRuntime = app.state.runtime
        if runtime.producer is None:
            raise ServiceUnavailableError("the producer has not started")
        runtime.producer.check_healthy()

    async def relay_ready() -> None:
        """Stored events are leaving: the outbox relay is not stuck."""
        runtime: ServiceRuntime = app.state.runtime
        relay = runtime.relay
        if relay is not None:
            reason = relay.stuck()
            if reason is not None:
                raise ServiceUnavailableError(reason)

    checks = {"database": database_ready}
    if settings.kafka_enabled:
        checks["kafka"] = kafka_ready
        checks["producer"] = producer_ready
        if tables is not None:
            checks["outbox"] = relay_ready
    # Routes are matched in order: the service's own (the hot ones first, as the service lists
    # them) before the health and metrics probes.
    for router in routers:
        app.include_router(router)
    app.include_router(health_router(checks))
    return app


def _document_problems(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction: commit on success, roll back on error, then wake the
    outbox relay so committed events leave at once."""
    runtime = runtime_of(request)
    async with runtime.sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            try:
                await session.commit()
            except Exception as exc:
                raise ServiceUnavailableError(
                    "the database could not commit", retry_after=5
                ) from exc
            runtime.notify_outbox()
