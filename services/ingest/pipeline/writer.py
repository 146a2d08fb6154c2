"""`GroupCommitWriter`, for the REST intake: one task takes all the requests waiting at that
moment and writes them in one transaction, then answers each.

Under load the batches grow by themselves; at rest a batch is one request and adds no wait. A
request is answered only after its batch committed (its events sit in the outbox). If a batch
fails for a reason other than the database being down, its jobs are retried one by one, so one
bad job cannot fail its neighbours. One writer per process keeps commits, and so the outbox
order, sequential.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import Histogram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ingest.pipeline.batch import Batch, Job, JobResult
from shared.bus.consumer import is_infrastructure_failure

logger = structlog.get_logger("socialcare.ingest")
BATCH_SECONDS = Histogram(
    "socialcare_ingest_batch_seconds",
    "Time to write one group-commit batch",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
BATCH_JOBS = Histogram(
    "socialcare_ingest_batch_jobs",
    "Requests written per group-commit batch",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


@dataclass
class _Pending:
    job: Job
    future: asyncio.Future[JobResult]


class GroupCommitWriter:
    """One task writes the jobs of many concurrent requests in shared transactions."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_batch: int = 256,
        on_committed: Any = None,
    ) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self.on_committed = on_committed
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            if not pending.future.done():
                pending.future.set_exception(ConnectionError("ingest is shutting down"))

    async def submit(self, job: Job) -> JobResult:
        """Wait until the job's batch committed; raise what made it fail."""
        if self._task is None or self._task.done():
            raise ConnectionError("the ingest writer is not running")
        future: asyncio.Future[JobResult] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(job, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write(batch)

    async def _write(self, batch: list[_Pending]) -> None:
        started = time.perf_counter()
        try:
            results = await self._transaction([pending.job for pending in batch])
        except Exception as exc:
            if len(batch) == 1 or is_infrastructure_failure(exc):
                logger.warning("ingest_batch_failed", jobs=len(batch), error=str(exc))
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                return
            # Isolate the job that cannot be written from its neighbours.
            for pending in batch:
                await self._write([pending])
            return
        BATCH_SECONDS.observe(time.perf_counter() - started)
        BATCH_JOBS.observe(len(batch))
        for pending, result in zip(batch, results, strict=True):
            if not pending.future.done():
                pending.future.set_result(result)
        if self.on_committed is not None:
            self.on_committed()

    async def _transaction(self, jobs: list[Job]) -> list[JobResult]:
        async with self.sessions() as session, session.begin():
            return await Batch(session, jobs).run()
