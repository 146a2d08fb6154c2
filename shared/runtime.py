"""What a running service holds: database engine and sessions, producer, outbox relay,
consumers, retention job and the service's own typed state, started and stopped in order.

`shared.app.build_service_app` makes one `ServiceRuntime` in its lifespan and puts it on
`app.state.runtime`; routes reach it through `runtime_of(request)` or the dependencies in
`shared.dependencies`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from fastapi import Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.bus.admin import ensure_topics
from shared.bus.consumer import BatchHandler, ConsumerRunner, Handler, Preparer
from shared.bus.outbox import OutboxRelay
from shared.bus.producer import EventProducer
from shared.bus.retention import PurgeJob, run_retention
from shared.bus.tables import BusTables
from shared.db import create_engine, is_sqlite, session_factory
from shared.errors import ServiceUnavailableError
from shared.events.topics import TOPIC_CONFIGS, all_topics
from shared.settings import ServiceSettings

logger = structlog.get_logger("socialcare.runtime")

StateT = TypeVar("StateT")

# Shutdown is bounded (20 s in all; pods get 40 s, deploy/k8s): with Kafka unreachable,
# commits, group leaves and flushes would retry for ever and a stopping pod would never exit.
# What is cut short was not acknowledged: webhooks were refused, outbox rows stay pending for
# the next relay.
TASKS_STOP_SECONDS = 10.0
TASKS_CANCEL_SECONDS = 5.0
PRODUCER_STOP_SECONDS = 5.0


@dataclass
class ConsumerSpec:
    """A consumer group of this service: which topics, which handlers."""

    group_id: str
    topics: list[str]
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    batch_handlers: Mapping[str, BatchHandler] = field(default_factory=dict)
    # Records per poll (one transaction); small for CPU-heavy handlers sharing a web process.
    max_batch: int = 500
    # A poll's pure CPU work, done while the previous poll's transaction runs (ConsumerRunner).
    prepare: Preparer | None = None
    # False only for handlers idempotent by state (no processed_events row per event).
    claim_events: bool = True


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

    @classmethod
    def open(cls, settings: ServiceSettings, tables: BusTables | None) -> ServiceRuntime:
        """The runtime with its database engine; nothing is connected yet."""
        pool: dict[str, Any] = (
            {}
            if is_sqlite(settings.database_url)
            else {
                "pool_size": settings.database_pool_size,
                "max_overflow": settings.database_max_overflow,
                "pool_timeout": settings.database_pool_timeout_seconds,
            }
        )
        engine = create_engine(settings.database_url, schema=settings.schema_name, **pool)
        return cls(
            settings=settings, engine=engine, sessions=session_factory(engine), tables=tables
        )

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

    # -- start-up, in order --------------------------------------------------------------

    async def start_bus(self, consumers: Sequence[ConsumerSpec]) -> None:
        """Topics, producer, outbox relay and consumers (when the service uses Kafka)."""
        settings = self.settings
        if not settings.kafka_enabled:
            return
        if settings.kafka_create_topics:
            await ensure_topics(
                settings.kafka_bootstrap,
                all_topics(),
                partitions=settings.kafka_topic_partitions,
                replication_factor=settings.kafka_topic_replication_factor,
                configs=TOPIC_CONFIGS,
            )
        self.producer = await start_producer(settings)
        if self.tables is None:
            return
        self.relay = OutboxRelay(
            service=settings.service_name,
            sessions=self.sessions,
            tables=self.tables,
            producer=self.producer,
            bootstrap=settings.kafka_bootstrap,
            poll_interval=settings.outbox_poll_interval_seconds,
            batch_size=settings.outbox_batch_size,
            stall_seconds=settings.outbox_stall_seconds,
        )
        self.tasks.append(asyncio.create_task(self.relay.run()))
        if settings.consumers_enabled:
            for spec in consumers:
                self._start_consumer(spec, self.tables, self.producer)

    def _start_consumer(
        self, spec: ConsumerSpec, tables: BusTables, producer: EventProducer
    ) -> None:
        runner = ConsumerRunner(
            name=f"{self.settings.service_name}.{spec.group_id}",
            bootstrap=self.settings.kafka_bootstrap,
            topics=spec.topics,
            group_id=spec.group_id,
            handlers=spec.handlers,
            batch_handlers=spec.batch_handlers,
            sessions=self.sessions,
            tables=tables,
            producer=producer,
            on_committed=self.notify_outbox,
            max_batch=spec.max_batch,
            prepare=spec.prepare,
            claim_events=spec.claim_events,
        )
        self.consumers.append(runner)
        self.tasks.append(asyncio.create_task(runner.run_supervised()))

    def start_retention(self, jobs: Sequence[PurgeJob]) -> None:
        if jobs:
            self.retention = asyncio.create_task(
                run_retention(
                    self.sessions,
                    jobs,
                    service=self.settings.service_name,
                    interval_seconds=self.settings.retention_purge_interval_seconds,
                )
            )

    # -- shutdown, in reverse ------------------------------------------------------------

    async def stop(
        self, on_shutdown: Callable[[ServiceRuntime], Awaitable[None]] | None = None
    ) -> None:
        if self.retention is not None:
            self.retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.retention
        if on_shutdown is not None:
            await on_shutdown(self)
        for runner in self.consumers:
            runner.stop()
        if self.relay is not None:
            self.relay.stop()
        await self._stop_tasks()
        if self.producer is not None:
            try:
                async with asyncio.timeout(PRODUCER_STOP_SECONDS):
                    await self.producer.stop()
            except TimeoutError:
                logger.warning("producer_stop_timed_out")
        await self.engine.dispose()

    async def _stop_tasks(self) -> None:
        if not self.tasks:
            return
        _done, pending = await asyncio.wait(self.tasks, timeout=TASKS_STOP_SECONDS)
        for task in pending:
            task.cancel()
        if pending:
            _done, stuck = await asyncio.wait(pending, timeout=TASKS_CANCEL_SECONDS)
            if stuck:
                logger.warning("shutdown_tasks_abandoned", count=len(stuck))

    # -- readiness -----------------------------------------------------------------------

    async def database_ready(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def producer_ready(self) -> None:
        """Records are being acknowledged: the service can accept durably."""
        if self.producer is None:
            raise ServiceUnavailableError("the producer has not started")
        self.producer.check_healthy()

    async def relay_ready(self) -> None:
        """Stored events are leaving: the outbox relay is not stuck."""
        if self.relay is not None:
            reason = self.relay.stuck()
            if reason is not None:
                raise ServiceUnavailableError(reason)


async def start_producer(settings: ServiceSettings, attempts: int = 30) -> EventProducer:
    """The service's producer, waiting up to `attempts` seconds for the broker."""
    producer = EventProducer(
        settings.kafka_bootstrap,
        client_id=settings.service_name,
        linger_ms=settings.kafka_linger_ms,
        stall_seconds=settings.kafka_producer_stall_seconds,
        unready_after_seconds=settings.kafka_unready_after_seconds,
    )
    for attempt in range(1, attempts + 1):
        try:
            await producer.start()
            return producer
        except Exception as exc:
            if attempt == attempts:
                raise
            logger.warning("kafka_not_ready", attempt=attempt, error=str(exc))
            await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime
