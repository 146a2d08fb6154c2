"""The dispatcher: claims due deliveries from PostgreSQL and sends them, per endpoint bounded.

- Claims go through `repository.claim_due` (FOR UPDATE SKIP LOCKED): any number of replicas
  share the work, and a claim is a lease, so an attempt cut short by a crash is due again once
  the lease ends. Nothing waits in memory: deliveries stay rows until claimed, so memory holds
  at most `max_in_flight` bodies whatever the backlog of endpoints that are down.
- Each endpoint has at most `max_in_flight_per_endpoint` attempts in flight (and its rate
  limit per second): a slow or dead receiver holds its own slots only, never the others'.
- Outcomes are written in batches (one transaction for many attempts): the delivery's next
  step, its attempt in the log, the endpoint's failing streak, and disabling (410, or failing
  for `disable_after_failing_seconds`) with an `endpoint.disabled` event in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.webhooks import repository
from services.webhooks.config import WebhooksSettings
from services.webhooks.delivery.directory import EndpointDirectory, EndpointView
from services.webhooks.delivery.schedule import Verdict, decide, parse_retry_after
from services.webhooks.delivery.sender import AttemptResult, Sender
from shared.bus.consumer import is_infrastructure_failure
from shared.bus.outbox import add_to_outbox
from shared.bus.tables import BusTables
from shared.events.envelope import Envelope
from shared.events.webhooks import DisabledReason, EndpointDisabled

logger = structlog.get_logger("socialcare.webhooks")
ATTEMPTS = Counter("socialcare_webhook_attempts_total", "Webhook delivery attempts", ["outcome"])
ATTEMPT_SECONDS = Histogram(
    "socialcare_webhook_attempt_seconds",
    "Webhook attempt latency",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15),
)
DISABLED = Counter("socialcare_webhook_endpoints_disabled_total", "Endpoints disabled", ["reason"])
FLUSH_EVERY = 0.02  # seconds: outcomes written together within this window
FLUSH_ROWS = 500


@dataclass(slots=True)
class _Outcome:
    delivery_id: str
    endpoint_id: str
    generation: int
    step: int
    result: AttemptResult


class _RateWindow:
    """Deliveries started in the current second: per endpoint with a rate limit, and by this
    replica in all (`per_second`, None for no limit)."""

    def __init__(self, per_second: int | None = None) -> None:
        self.per_second = per_second
        self.second = 0
        self.started: dict[str, int] = {}
        self.total = 0

    def _tick(self) -> None:
        now = int(time.monotonic())
        if now != self.second:
            self.second, self.started, self.total = now, {}, 0

    def room(self, endpoint: EndpointView) -> int | None:
        if endpoint.rate_limit_per_second is None:
            return None
        self._tick()
        return max(0, endpoint.rate_limit_per_second - self.started.get(endpoint.id, 0))

    def total_room(self) -> int | None:
        if self.per_second is None:
            return None
        self._tick()
        return max(0, self.per_second - self.total)

    def took(self, endpoint_id: str, count: int) -> None:
        self.started[endpoint_id] = self.started.get(endpoint_id, 0) + count
        self.total += count


class Dispatcher:
    def __init__(
        self,
        *,
        settings: WebhooksSettings,
        sessions: async_sessionmaker[AsyncSession],
        tables: BusTables,
        directory: EndpointDirectory,
        sender: Sender,
        notify_outbox: Callable[[], None],
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.tables = tables
        self.directory = directory
        self.sender = sender
        self.notify_outbox = notify_outbox
        self.rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._stopping = False
        self._in_flight: dict[str, int] = {}
        self._tasks: dict[str, tuple[asyncio.Task[None], int]] = {}
        self._outcomes: list[_Outcome] = []
        self._flushed = asyncio.Event()
        self._rate = _RateWindow(settings.max_attempts_per_second)
        self._writer: asyncio.Task[None] | None = None
        self._writer_wake = asyncio.Event()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        self._writer = asyncio.create_task(self._write_loop())
        try:
            while not self._stopping:
                try:
                    claimed = await self._claim_and_start()
                except Exception as exc:
                    level = "warning" if is_infrastructure_failure(exc) else "error"
                    getattr(logger, level)("dispatch_claim_failed", error=str(exc))
                    claimed = 0
                if claimed and self.in_flight < self.settings.max_in_flight:
                    # More may be due: look again soon, letting the attempts begin first.
                    await asyncio.sleep(0.001)
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.dispatch_poll_seconds):
                        await self._wake.wait()
                self._wake.clear()
                # Let completions and fresh deliveries gather for one claim.
                await asyncio.sleep(0.002)
        finally:
            await self._shutdown()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def _claim_and_start(self) -> int:
        room = self.settings.max_in_flight - self.in_flight
        total_room = self._rate.total_room()
        if total_room is not None:
            room = min(room, total_room)
        if room <= 0:
            if total_room == 0:
                self._wake_next_second()
            return 0
        views = await self.directory.views()
        per_endpoint = self.settings.max_in_flight_per_endpoint
        slots: dict[str, int] = {}
        for endpoint in views.values():
            free = per_endpoint - self._in_flight.get(endpoint.id, 0)
            rate_room = self._rate.room(endpoint)
            if rate_room is not None:
                free = min(free, rate_room)
            if free > 0:
                slots[endpoint.id] = free
        if not slots:
            return 0
        now = datetime.now(UTC)
        async with self.sessions() as session, session.begin():
            claimed = await repository.claim_due(
                session,
                slots,
                total=room,
                now=now,
                lease_until=now + timedelta(seconds=self.settings.claim_lease_seconds),
            )
        for row in claimed:
            view = views.get(row.endpoint_id)
            if view is None:  # disabled meanwhile: due again after the lease, if enabled
                continue
            self._in_flight[row.endpoint_id] = self._in_flight.get(row.endpoint_id, 0) + 1
            self._rate.took(row.endpoint_id, 1)
            task = asyncio.create_task(self._attempt(view, row))
            self._tasks[row.id] = (task, row.generation)
        return len(claimed)

    def _wake_next_second(self) -> None:
        """The replica's rate is used up for this second: look again when the next begins."""
        delay = 1.0 - (time.monotonic() % 1.0) + 0.001
        asyncio.get_running_loop().call_later(delay, self._wake.set)

    async def _attempt(self, endpoint: EndpointView, row: repository.Claimed) -> None:
        try:
            result = await self.sender.send(
                endpoint.url, endpoint.signer, row.event_id, row.body, pool=endpoint.id
            )
            self._outcomes.append(
                _Outcome(row.id, row.endpoint_id, row.generation, row.schedule_step, result)
            )
            ATTEMPT_SECONDS.observe(result.latency_ms / 1000)
            ATTEMPTS.labels("succeeded" if result.succeeded else "failed").inc()
            if len(self._outcomes) >= FLUSH_ROWS:
                self._writer_wake.set()
        finally:
            self._tasks.pop(row.id, None)
            left = self._in_flight.get(row.endpoint_id, 1) - 1
            if left:
                self._in_flight[row.endpoint_id] = left
            else:
                self._in_flight.pop(row.endpoint_id, None)
            self._wake.set()

    # ------------------------------------------------------------------ outcomes

    async def _write_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FLUSH_EVERY):
                    await self._writer_wake.wait()
            self._writer_wake.clear()
            if self._outcomes:
                try:
                    await self.flush()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # Kept for the next pass; the claims' leases protect them meanwhile.
                    logger.warning("webhook_outcomes_not_written", error=str(exc))
                    await asyncio.sleep(1.0)
            elif self._stopping:
                return

    async def flush(self) -> None:
        """Write every outcome gathered so far in one transaction."""
        batch, self._outcomes = self._outcomes, []
        try:
            disabled = await self._write(batch)
        except BaseException:
            self._outcomes = batch + self._outcomes
            raise
        for endpoint in disabled:
            self.directory.drop(endpoint.id)
        if disabled:
            self.notify_outbox()

    async def _write(self, batch: list[_Outcome]) -> list[repository.DisabledEndpoint]:
        settings = self.settings
        now = datetime.now(UTC)
        updates: list[dict[str, Any]] = []
        attempts: list[dict[str, Any]] = []
        succeeded: set[str] = set()
        failed: set[str] = set()
        gone: set[str] = set()
        for outcome in batch:
            result = outcome.result
            attempts.append(
                {
                    "delivery_id": outcome.delivery_id,
                    "started_at": result.started_at,
                    "status_code": result.status_code,
                    "succeeded": result.succeeded,
                    "latency_ms": round(result.latency_ms, 3),
                    "error": result.error,
                    "response_excerpt": result.excerpt,
                }
            )
            decision = decide(
                status_code=result.status_code,
                retry_after=parse_retry_after(result.retry_after, now),
                attempts_made=outcome.step + 1,
                schedule=settings.retry_schedule_seconds,
                jitter=settings.retry_jitter,
                max_retry_after=settings.max_retry_after_seconds,
                rng=self.rng,
            )
            row: dict[str, Any] = {
                "b_id": outcome.delivery_id,
                "b_generation": outcome.generation,
                "schedule_step": outcome.step + 1,
                "last_status_code": result.status_code,
                "last_error": result.error,
                "succeeded_at": None,
                "updated_at": now,
                "next_attempt_at": None,
            }
            if decision.verdict is Verdict.succeeded:
                row.update(status=repository.SUCCEEDED, succeeded_at=now)
                succeeded.add(outcome.endpoint_id)
            elif decision.verdict is Verdict.retry:
                assert decision.delay_seconds is not None
                row.update(
                    status=repository.PENDING,
                    next_attempt_at=now + timedelta(seconds=decision.delay_seconds),
                )
                failed.add(outcome.endpoint_id)
            else:
                row.update(status=repository.FAILED)
                failed.add(outcome.endpoint_id)
                if decision.verdict is Verdict.gone:
                    gone.add(outcome.endpoint_id)
            updates.append(row)
        failed -= succeeded
        async with self.sessions() as session, session.begin():
            await repository.finish_deliveries(session, updates)
            await repository.add_attempts(session, attempts)
            await repository.mark_endpoint_health(
                session, succeeded=sorted(succeeded), failed=sorted(failed), now=now
            )
            disabled = await repository.disable_endpoints(
                session, sorted(gone), reason=DisabledReason.gone.value, now=now
            )
            for endpoint in disabled:
                await self._announce(session, endpoint, DisabledReason.gone, now)
            failing = await repository.disable_endpoints(
                session,
                sorted(failed - gone),
                reason=DisabledReason.failing.value,
                now=now,
                failing_before=now - timedelta(seconds=settings.disable_after_failing_seconds),
            )
            for endpoint in failing:
                await self._announce(session, endpoint, DisabledReason.failing, now)
        return disabled + failing

    async def _announce(
        self,
        session: AsyncSession,
        endpoint: repository.DisabledEndpoint,
        reason: DisabledReason,
        now: datetime,
    ) -> None:
        DISABLED.labels(reason.value).inc()
        logger.warning("webhook_endpoint_disabled", endpoint_id=endpoint.id, reason=reason.value)
        await add_to_outbox(
            session,
            self.tables,
            Envelope(
                type="endpoint.disabled",
                source="socialcare/webhooks",
                key=endpoint.id,
                data=EndpointDisabled(
                    endpoint_id=endpoint.id,
                    url=endpoint.url,
                    brand_ids=endpoint.brand_ids,
                    owner_key_id=endpoint.owner_key_id,
                    reason=reason,
                    failing_since=endpoint.failing_since,
                    disabled_at=now,
                ),
            ),
        )

    async def _shutdown(self) -> None:
        """Cut attempts in flight short, write what finished, hand the rest back (due now)."""
        cut = [
            (delivery_id, generation) for delivery_id, (_task, generation) in self._tasks.items()
        ]
        for task, _generation in list(self._tasks.values()):
            task.cancel()
        for task, _generation in list(self._tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._writer_wake.set()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        reported = {outcome.delivery_id for outcome in self._outcomes}
        cut = [claim for claim in cut if claim[0] not in reported]
        try:
            if self._outcomes:
                await self.flush()
            if cut:
                async with self.sessions() as session, session.begin():
                    await repository.release_claims(session, cut, datetime.now(UTC))
        except Exception as exc:
            logger.warning("webhook_shutdown_incomplete", error=str(exc))
