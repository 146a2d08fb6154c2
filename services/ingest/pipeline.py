"""The ingest pipeline: deduplicate → normalise → store → stage events → archive, in bulk.

`Batch` runs many jobs (each a list of normalised changes, with the raw body when it came from a
platform) in the caller's transaction with a fixed number of statements. Two callers use it:

- the `ingest-webhooks` consumer (handlers.py): every webhook of one poll in one batch, inside
  the consumer runner's transaction;
- `GroupCommitWriter`, for the REST intake: one task takes all the requests waiting at that
  moment and writes them in one transaction, then answers each. Under load the batches grow by
  themselves; at rest a batch is one request and adds no wait. A request is answered only after
  its batch committed (its events sit in the outbox). If a batch fails for a reason other than
  the database being down, its jobs are retried one by one, so one bad job cannot fail its
  neighbours. One writer per process keeps commits, and so the outbox order, sequential.

Enrichment (language, sentiment, PII) happens before, in `enrich_changes`, outside the shared
transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

import structlog
from prometheus_client import Histogram
from pydantic import BaseModel
from sqlalchemy import String, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ingest.enrichment import enrich
from services.ingest.models import DeliveryKey, InteractionRecord, RawPayload, bus_tables
from services.ingest.platforms.base import ParsedItem
from services.ingest.schemas import InteractionIn
from shared.bus.consumer import is_infrastructure_failure
from shared.bus.outbox import add_many_to_outbox
from shared.events.envelope import Envelope
from shared.events.interactions import (
    Author,
    Channel,
    DeliveryStatus,
    EngagementRecorded,
    Flags,
    Interaction,
    InteractionDeleted,
    InteractionKind,
    Metrics,
    Sentiment,
    thread_key,
)
from shared.pii import find_pii

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
INTERACTIONS = cast(Table, InteractionRecord.__table__)
DELIVERY_KEYS = cast(Table, DeliveryKey.__table__)
RAW_PAYLOADS = cast(Table, RawPayload.__table__)
SOURCE = "/socialcare/ingest"
ItemStatus = Literal["accepted", "duplicate"]


class IncompleteChangeError(ValueError):
    """A change is missing what its kind of change needs (a bug upstream, never client input)."""


@dataclass(frozen=True)
class ConnectionInfo:
    """What the pipeline needs of a connection (no secrets)."""

    id: str
    brand_id: str
    platform: str
    default_lang: str | None


@dataclass
class Change:
    """One normalised change, whatever channel or intake it came from."""

    source: str  # dedupe namespace: the connection id, or rest:<brand>:<channel>
    dedupe_key: str
    change: str  # received | updated | deleted | engagement | status
    brand_id: str
    connection_id: str | None
    channel: Channel
    external_id: str
    thread_external_id: str
    kind: InteractionKind | None = None
    parent_external_id: str | None = None
    url: str | None = None
    author: Author = field(default_factory=Author)
    text: str = ""
    lang: str | None = None
    default_lang: str | None = None
    created_at: datetime | None = None
    metrics: Metrics = field(default_factory=Metrics)
    needs_fetch: bool = False
    own_message: bool = False
    engagement_kind: str | None = None
    engagement_delta: int = 0
    status: str | None = None
    deleted_reason: str | None = None
    # Set by `enrich_changes` in the request, outside the writer's critical section.
    sentiment: Sentiment | None = None
    pii: bool = False
    # Platforms say "received" again for items we hold (a mention, then the comment): that is
    # a duplicate. A REST item with new content under a known id is an update.
    from_platform: bool = False


def change_from_parsed(connection: ConnectionInfo, item: ParsedItem) -> Change:
    return Change(
        source=connection.id,
        dedupe_key=item.dedupe_key,
        change=item.change,
        brand_id=connection.brand_id,
        connection_id=connection.id,
        channel=item.channel,
        external_id=item.external_id,
        thread_external_id=item.thread_external_id,
        kind=item.kind,
        parent_external_id=item.parent_external_id,
        url=item.url,
        author=item.author,
        text=item.text,
        default_lang=connection.default_lang,
        created_at=item.created_at,
        metrics=item.metrics,
        needs_fetch=item.needs_fetch,
        own_message=item.own_message,
        engagement_kind=item.engagement_kind,
        engagement_delta=item.engagement_delta,
        status=item.status,
        deleted_reason=item.deleted_reason,
        from_platform=True,
    )


def change_from_rest(item: InteractionIn) -> Change:
    """REST items dedupe on their full content: the same item again is a duplicate, the same
    external id with other content is an update."""
    digest = hashlib.sha256(item.model_dump_json().encode()).hexdigest()[:32]
    return Change(
        source=f"rest:{item.brand_id}:{item.channel.value}",
        dedupe_key=digest,
        change="received",
        brand_id=item.brand_id,
        connection_id=item.connection_id,
        channel=item.channel,
        external_id=item.external_id,
        thread_external_id=item.thread_external_id or item.external_id,
        kind=item.kind,
        parent_external_id=item.parent_external_id,
        url=item.url,
        author=item.author,
        text=item.text,
        lang=item.lang,
        created_at=item.created_at.astimezone(UTC),
        metrics=item.metrics,
    )


def enrich_changes(changes: list[Change]) -> None:
    """Language, sentiment and PII of new and edited texts. Runs in the request handler, so
    the writer's batch (which every waiting request shares) holds only database work."""
    for change in changes:
        if change.change not in ("received", "updated") or not change.text.strip():
            continue
        enrichment = enrich(change.text, default_lang=change.lang or change.default_lang)
        change.lang = change.lang or enrichment.lang
        change.sentiment = enrichment.sentiment
        change.pii = bool(find_pii(change.text))


@dataclass
class Job:
    """One request's share of a batch."""

    changes: list[Change]
    connection: ConnectionInfo | None = None
    raw_body: bytes | None = None
    retention_days: int = 0


@dataclass
class JobResult:
    outcomes: list[tuple[ItemStatus, str | None]]  # per change: status, interaction id
    published: int = 0

    @property
    def duplicates(self) -> int:
        return sum(1 for status, _ in self.outcomes if status == "duplicate")


def _stable_id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "socialcare:" + ":".join(parts)))


class Batch:
    """Runs jobs in the caller's transaction with a fixed number of statements per batch."""

    def __init__(
        self, session: AsyncSession, jobs: Sequence[Job], *, now: datetime | None = None
    ) -> None:
        self.session = session
        self.jobs = jobs
        self.now = now or datetime.now(UTC)
        self.envelopes: list[Envelope] = []
        self.new_records: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.deletions: list[str] = []
        # Interactions by (brand, channel, external id): stored ones, then this batch's.
        self.known: dict[tuple[str, str, str], tuple[str, str]] = {}

    async def run(self) -> list[JobResult]:
        changes = [change for job in self.jobs for change in job.changes]
        fresh = await self._claim(changes)
        await self._load_known(changes)
        results = []
        for job in self.jobs:
            result = JobResult(outcomes=[])
            for change in job.changes:
                if (change.source, change.external_id, change.dedupe_key) not in fresh:
                    result.outcomes.append(("duplicate", None))
                    continue
                fresh.discard((change.source, change.external_id, change.dedupe_key))
                published_before = len(self.envelopes)
                interaction_id = self._apply(change)
                published = len(self.envelopes) - published_before
                result.published += published
                status: ItemStatus = "accepted" if published else "duplicate"
                result.outcomes.append((status, interaction_id))
            results.append(result)
        await self._write()
        return results

    async def _claim(self, changes: list[Change]) -> set[tuple[str, str, str]]:
        keys = list(dict.fromkeys((c.source, c.external_id, c.dedupe_key) for c in changes))
        if not keys:
            return set()
        if self.session.get_bind().dialect.name == "postgresql":
            table = DELIVERY_KEYS
            statement = (
                pg_insert(table)
                .from_select(
                    ["source", "external_id", "change_kind"],
                    select(
                        func.unnest(bindparam("sources", type_=ARRAY(String))),
                        func.unnest(bindparam("external_ids", type_=ARRAY(String))),
                        func.unnest(bindparam("kinds", type_=ARRAY(String))),
                    ),
                )
                .on_conflict_do_nothing()
                .returning(table.c.source, table.c.external_id, table.c.change_kind)
            )
            rows = await self.session.execute(
                statement,
                {
                    "sources": [key[0] for key in keys],
                    "external_ids": [key[1] for key in keys],
                    "kinds": [key[2] for key in keys],
                },
            )
            return {(row[0], row[1], row[2]) for row in rows}
        claimed = set()
        for source, external_id, kind in keys:
            result = await self.session.execute(
                sqlite_insert(DeliveryKey)
                .values(source=source, external_id=external_id, change_kind=kind)
                .on_conflict_do_nothing()
            )
            if result.rowcount:  # type: ignore[attr-defined]
                claimed.add((source, external_id, kind))
        return claimed

    async def _load_known(self, changes: list[Change]) -> None:
        external_ids = list({change.external_id for change in changes})
        parents = list({c.parent_external_id for c in changes if c.parent_external_id})
        wanted = external_ids + parents
        if not wanted:
            return
        brands = list({change.brand_id for change in changes})
        rows = await self.session.execute(
            select(
                InteractionRecord.id,
                InteractionRecord.brand_id,
                InteractionRecord.channel,
                InteractionRecord.external_id,
                InteractionRecord.thread_key,
            ).where(
                InteractionRecord.brand_id.in_(brands), InteractionRecord.external_id.in_(wanted)
            )
        )
        for record_id, brand, channel, external_id, key in rows:
            self.known[(brand, channel, external_id)] = (record_id, key)

    # ----------------------------------------------------------------- per change (no I/O)

    def _stage(self, event_type: str, key: str, data: BaseModel) -> None:
        self.envelopes.append(Envelope(type=event_type, source=SOURCE, key=key, data=data))

    def _apply(self, change: Change) -> str | None:
        if change.change in ("received", "updated"):
            return self._received(change)
        if change.change == "deleted":
            return self._deleted(change)
        if change.change == "engagement":
            self._engagement(change)
        else:
            self._status(change)
        return None

    def _thread_of(self, change: Change) -> str:
        """A reply joins its parent's conversation when we already know the parent."""
        if change.parent_external_id:
            parent = self.known.get(
                (change.brand_id, change.channel.value, change.parent_external_id)
            )
            if parent is not None:
                return parent[1].split(":", 2)[2]
        return change.thread_external_id

    def _received(self, change: Change) -> str | None:
        identity = (change.brand_id, change.channel.value, change.external_id)
        existing = self.known.get(identity)
        if existing is not None and change.change == "received" and change.from_platform:
            return existing[0]
        if change.kind is None:
            # A parser or mapper bug, not bad input: the REST schema and the parsers set a kind.
            raise IncompleteChangeError(
                f"a {change.change} change needs a kind: {change.external_id}"
            )
        interaction_id = existing[0] if existing else str(uuid.uuid4())
        interaction = Interaction(
            id=interaction_id,
            brand_id=change.brand_id,
            connection_id=change.connection_id,
            channel=change.channel,
            kind=change.kind,
            external_id=change.external_id,
            thread_external_id=self._thread_of(change),
            parent_external_id=change.parent_external_id,
            url=change.url,
            author=change.author,
            text=change.text,
            lang=change.lang or (change.default_lang if change.text.strip() else None),
            sentiment=change.sentiment,
            created_at=change.created_at or self.now,
            received_at=self.now,
            metrics=change.metrics,
            flags=Flags(
                pii=change.pii,
                needs_fetch=change.needs_fetch,
                own_message=change.own_message,
            ),
        )
        document = interaction.model_dump(mode="json")
        if existing is None:
            self.new_records.append(
                {
                    "id": interaction.id,
                    "brand_id": interaction.brand_id,
                    "connection_id": interaction.connection_id,
                    "channel": interaction.channel.value,
                    "kind": interaction.kind.value,
                    "external_id": interaction.external_id,
                    "thread_key": interaction.thread_key,
                    "created_at": interaction.created_at,
                    "received_at": interaction.received_at,
                    "document": document,
                }
            )
            event_type = "interaction.received"
        else:
            self.updates.append(
                {"record_id": interaction.id, "kind": interaction.kind.value, "document": document}
            )
            event_type = "interaction.updated"
        self.known[identity] = (interaction.id, interaction.thread_key)
        self._stage(event_type, interaction.thread_key, interaction)
        return interaction.id

    def _deleted(self, change: Change) -> str:
        existing = self.known.get((change.brand_id, change.channel.value, change.external_id))
        if existing is not None:
            self.deletions.append(existing[0])
            key = existing[1]
        else:
            key = thread_key(change.brand_id, change.channel.value, change.thread_external_id)
        interaction_id = existing[0] if existing else _stable_id(change.source, change.external_id)
        reason = change.deleted_reason or "deleted"
        event = InteractionDeleted(
            id=interaction_id,
            brand_id=change.brand_id,
            channel=change.channel,
            external_id=change.external_id,
            thread_external_id=key.split(":", 2)[2],
            deleted_at=change.created_at or self.now,
            reason=reason,
        )
        self._stage("interaction.deleted", key, event)
        return interaction_id

    def _engagement(self, change: Change) -> None:
        existing = self.known.get((change.brand_id, change.channel.value, change.external_id))
        kind = change.engagement_kind or "reaction"
        delta = change.metrics
        if change.engagement_delta and not any(delta.model_dump().values()):
            counter = {"share": "shares", "view": "views", "comment": "comments"}.get(kind, "likes")
            # Removals (delta -1) are told by `kind`; counters stay non-negative.
            delta = Metrics(**{counter: abs(change.engagement_delta)})
            if change.engagement_delta < 0:
                kind = f"{kind}.removed"
        key = (
            existing[1]
            if existing
            else thread_key(change.brand_id, change.channel.value, change.thread_external_id)
        )
        event = EngagementRecorded(
            brand_id=change.brand_id,
            channel=change.channel,
            external_id=change.external_id,
            thread_external_id=key.split(":", 2)[2],
            interaction_id=existing[0] if existing else None,
            kind=kind,
            actor_external_id=change.author.external_id,
            delta=delta,
            occurred_at=change.created_at or self.now,
        )
        self._stage("engagement.recorded", key, event)

    def _status(self, change: Change) -> None:
        key = thread_key(change.brand_id, change.channel.value, change.thread_external_id)
        event = DeliveryStatus(
            brand_id=change.brand_id,
            channel=change.channel,
            external_id=change.external_id,
            thread_external_id=change.thread_external_id,
            status=change.status or "unknown",
            occurred_at=change.created_at or self.now,
        )
        self._stage("interaction.delivery_status", key, event)

    # ----------------------------------------------------------------- writes

    async def _write(self) -> None:
        session = self.session
        table = INTERACTIONS
        if self.new_records:
            await session.execute(insert(table), self.new_records)
        if self.updates:
            await session.execute(
                update(table)
                .where(table.c.id == bindparam("record_id"))
                .values(kind=bindparam("kind"), document=bindparam("document"), deleted_at=None),
                self.updates,
            )
        if self.deletions:
            await session.execute(
                update(table).where(table.c.id.in_(self.deletions)).values(deleted_at=self.now)
            )
        await add_many_to_outbox(session, bus_tables, self.envelopes)
        raw = [
            {
                "id": str(uuid.uuid4()),
                "connection_id": job.connection.id,
                "platform": job.connection.platform,
                "body": job.raw_body,
                "received_at": self.now,
                "expires_at": self.now + timedelta(days=job.retention_days),
            }
            for job in self.jobs
            if job.raw_body is not None and job.connection is not None and job.retention_days > 0
        ]
        if raw:
            await session.execute(insert(RAW_PAYLOADS), raw)


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
