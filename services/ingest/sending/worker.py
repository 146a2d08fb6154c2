"""The send worker: a loop in ingest's worker role that recovers interrupted sends, claims due
ones, makes their platform calls concurrently and records each outcome."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from datetime import timedelta

import httpx
import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ingest.config import IngestSettings
from services.ingest.credentials import CredentialBox
from services.ingest.sending import service
from services.ingest.sending.platforms import (
    Outcome,
    PlatformClient,
    Retry,
    Sent,
    Unknown,
    classify,
    find_earlier_reply,
)
from services.ingest.sending.service import Attempt, SendPolicy
from shared.clock import utc_now

logger = structlog.get_logger("socialcare.ingest.sending")
SEND_ATTEMPTS = Counter(
    "socialcare_ingest_send_attempts_total", "Platform send attempts by outcome", ["outcome"]
)


def policy_from(settings: IngestSettings) -> SendPolicy:
    call_bound = settings.send_connect_timeout_seconds + settings.send_timeout_seconds
    return SendPolicy(
        max_attempts=settings.send_max_attempts,
        backoff_base_seconds=settings.send_backoff_base_seconds,
        backoff_max_seconds=settings.send_backoff_max_seconds,
        window=timedelta(hours=settings.send_window_hours),
        # Longer than any call can last, so a live worker never loses its send.
        lease=timedelta(seconds=call_bound + 5),
    )


def client_from(
    settings: IngestSettings, transport: httpx.AsyncBaseTransport | None = None
) -> PlatformClient:
    return PlatformClient(
        graph_url=settings.send_meta_graph_url,
        x_url=settings.send_x_api_url,
        connect_timeout=settings.send_connect_timeout_seconds,
        timeout=settings.send_timeout_seconds,
        transport=transport,
    )


async def perform(client: PlatformClient, attempt: Attempt, bound: float) -> tuple[Outcome, bool]:
    """Make the attempt's calls; the outcome and whether the send itself was posted."""
    try:
        async with asyncio.timeout(bound):
            if attempt.check is not None:
                answer = await client.call(attempt.check)
                if isinstance(answer, httpx.Response):
                    if 200 <= answer.status_code < 300:
                        try:
                            body = answer.json()
                        except ValueError:
                            body = None
                        found = find_earlier_reply(body, page_id=attempt.page_id, text=attempt.text)
                        if found is not None:
                            logger.info("send_found_already_posted", send_id=attempt.send_id)
                            return Sent(found), False
                    else:
                        return classify(attempt.check.api, answer), False
                elif isinstance(answer, Unknown):
                    # A lookup changes nothing: it is simply tried again.
                    return Retry("platform_unavailable"), False
                else:
                    return answer, False
            return await client.send(attempt.request), True
    except TimeoutError:
        return Unknown("timeout", "the call outlasted its time limit"), True


class SendWorker:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        box: CredentialBox,
        settings: IngestSettings,
        notify_outbox: Callable[[], None],
        client: PlatformClient | None = None,
    ) -> None:
        self.sessions = sessions
        self.box = box
        self.settings = settings
        self.policy = policy_from(settings)
        self.client = client or client_from(settings)
        self.notify_outbox = notify_outbox
        self.rng = random.Random()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    def wake(self) -> None:
        """A request was stored: look soon (its transaction commits right after the handler,
        so the look waits a moment; the poll interval is the fallback)."""
        asyncio.get_running_loop().call_later(0.02, self._wake.set)

    async def stop(self) -> None:
        """Stop at once, even in the middle of a call: the send stays in_flight and is
        recovered as an interrupted one (sending/__init__.py)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.aclose()

    async def run(self) -> None:
        while True:
            try:
                busy = await self.run_once()
            except Exception as exc:
                logger.warning("send_worker_pass_failed", error=str(exc))
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.send_poll_interval_seconds):
                        await self._wake.wait()
                self._wake.clear()

    async def run_once(self) -> bool:
        """One pass: recover, claim, call, record. True when it found work."""
        limit = self.settings.send_concurrency
        async with self.sessions() as session, session.begin():
            recovered = await service.recover_interrupted(session, now=utc_now(), limit=limit)
        async with self.sessions() as session, session.begin():
            # Committed before any call: a restart from here on finds the send in_flight.
            attempts, finished = await service.claim_due(
                session, self.box, self.policy, now=utc_now(), limit=limit
            )
        if recovered or finished:
            self.notify_outbox()
        if not attempts:
            return bool(recovered or finished)
        await asyncio.gather(*(self._attempt(attempt) for attempt in attempts))
        self.notify_outbox()
        return True

    async def _attempt(self, attempt: Attempt) -> None:
        bound = self.settings.send_connect_timeout_seconds + self.settings.send_timeout_seconds
        outcome, posted = await perform(self.client, attempt, bound + 1)
        SEND_ATTEMPTS.labels(type(outcome).__name__.lower()).inc()
        for tries in range(3):
            try:
                async with self.sessions() as session, session.begin():
                    await service.record_outcome(
                        session,
                        attempt,
                        outcome,
                        posted=posted,
                        policy=self.policy,
                        now=utc_now(),
                        rng=self.rng,
                    )
                return
            except Exception as exc:
                # Left in_flight, the send is recovered as interrupted once its lease ends.
                logger.warning("send_outcome_not_recorded", send_id=attempt.send_id, error=str(exc))
                await asyncio.sleep(0.5 * (tries + 1))
