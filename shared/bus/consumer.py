"""At-least-once consumer runner with exactly-once side effects.

- Offsets are committed only after the handlers of the records before them succeeded.
- Everything one poll returned is handled in one database transaction that also records every
  event id in `processed_events`: a redelivered event (after a crash or a rebalance) is skipped,
  so side effects happen once. Offsets go to Kafka every `commit_interval`, and on revoke and stop.
- The next poll is fetched and parsed while the previous one's transaction runs (a large poll
  is parsed in a thread, so the transaction goes on meanwhile); transactions still run one at
  a time, in poll order.
- Handlers take one envelope; batch handlers take every new envelope of their type in the poll
  at once (after the single handlers), for work that is cheaper in bulk.
- A `prepare` function does a poll's pure CPU work (no database) in the fetch loop, out of the
  poll's transaction (which then holds its connection and row locks only to write), while the
  previous poll's transaction waits on the database for its statement at hand. Its result
  reaches that poll's handlers in `session.info[PREPARED]` (`prepared_for`), only when they
  get exactly the envelopes it saw; a retry by partition or record goes without.
- Consumers whose handlers are idempotent by state (applying an event twice changes nothing)
  may run with `claim_events=False`: no `processed_events` row per event, only a repeat inside
  one poll is skipped.
- When that fails, the poll is retried partition by partition, then record by record with
  backoff; a record that still fails after the retry budget goes to `<topic>.dlq` with the error
  and its origin in headers, and the partition keeps flowing. A database that is down holds the
  partition (retried) instead of dead-lettering.
- `stop()` finishes the record at hand, commits and leaves the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord
from prometheus_client import Counter, Histogram
from sqlalchemy import String, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus.producer import EventProducer
from shared.bus.tables import BusTables
from shared.events.envelope import Envelope, EnvelopeError
from shared.events.topics import dlq_topic

logger = structlog.get_logger("socialcare.consumer")

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
# Gets every new envelope of its type from one poll at once, in order (bulk work per poll).
BatchHandler = Callable[[AsyncSession, list[Envelope]], Awaitable[None]]
# A poll's envelopes by type (the groups its batch handlers will get) -> what they can reuse.
Preparer = Callable[[Mapping[str, list[Envelope]]], object]
PREPARED = "socialcare.consumer.prepared"
Record: TypeAlias = "ConsumerRecord[bytes, bytes]"

HANDLED = Counter(
    "socialcare_events_handled_total", "Events handled", ["consumer", "type", "outcome"]
)
DEAD_LETTERED = Counter(
    "socialcare_events_dead_lettered_total", "Events sent to a DLQ", ["consumer", "topic"]
)
RESTARTS = Counter(
    "socialcare_consumer_restarts_total",
    "Consumers restarted after their loop failed (a failed offset commit, a lost broker)",
    ["consumer"],
)
HANDLE_LATENCY = Histogram(
    "socialcare_event_handle_seconds",
    "Time from event time to handled",
    ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30),
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    initial_backoff: float = 0.1
    max_backoff: float = 5.0

    def backoff(self, attempt: int) -> float:
        return float(min(self.initial_backoff * 2 ** (attempt - 1), self.max_backoff))


# Polls of at least this many records are parsed and prepared in a thread, off the event loop
# (`_parse_and_prepare`); a smaller one costs less than the hand-over.
OFFLOAD_RECORDS = 200

# How long a rebalance waits for the transaction at hand before the partitions are let go.
REVOKE_SETTLE_SECONDS = 3.0


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # The poll being handled finishes first, so its offsets go out before the partitions;
        # bounded, so a transaction held by a database outage does not hold the whole group
        # (its events are then replayed to the new owner and deduplicated).
        await self.runner.settle(within=REVOKE_SETTLE_SECONDS)
        await self.runner.commit_processed()  # after a periodic commit still on its way

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        return None


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What `prepare` made of a poll: for its `count` relevant envelopes, in these groups."""

    count: int
    groups: dict[str, list[Envelope]]
    value: object


def prepared_for(session: AsyncSession) -> object:
    """What the consumer's `prepare` made of the poll this transaction handles (None if
    nothing): a batch handler uses it only for the very group lists it was made from."""
    return session.info.get(PREPARED)


class _PoisonError(Exception):
    """A record that can never be handled (not a CloudEvent, unknown payload)."""


# SQLSTATE classes that say the server, not the statement, failed: connection exceptions (08),
# insufficient resources (53: too many connections, disk full), operator intervention of the
# shutdown kind (57P01 admin shutdown, 57P02 crash, 57P03 "the database system is shutting down"
# or "starting up"), system errors (58). asyncpg reports these as plain PostgresError, which
# SQLAlchemy wraps as a generic DBAPIError, not an OperationalError.
_INFRASTRUCTURE_SQLSTATES = ("08", "53", "57P", "58")


def is_infrastructure_failure(exc: BaseException) -> bool:
    """The database or network is down: wait and retry, never dead-letter the event for it."""
    if isinstance(exc, OperationalError | InterfaceError | ConnectionError | OSError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    sqlstate = getattr(exc, "sqlstate", None) or getattr(
        getattr(exc, "orig", None), "sqlstate", None
    )
    return isinstance(sqlstate, str) and sqlstate.startswith(_INFRASTRUCTURE_SQLSTATES)


class ConsumerRunner:
    """Consume `topics` as `group_id`, dispatching each CloudEvent type to its handler."""

    def __init__(
        self,
        *,
        name: str,
        bootstrap: str,
        topics: list[str],
        group_id: str,
        handlers: Mapping[str, Handler],
        sessions: async_sessionmaker[AsyncSession],
        batch_handlers: Mapping[str, BatchHandler] | None = None,
        tables: BusTables,
        producer: EventProducer,
        retry: RetryPolicy | None = None,
        max_batch: int = 500,
        commit_interval: float = 0.25,
        fill_wait: float = 0.004,
        on_committed: Callable[[], None] | None = None,
        prepare: Preparer | None = None,
        claim_events: bool = True,
        offload_records: int = OFFLOAD_RECORDS,
    ) -> None:
        self.name = name
        self.bootstrap = bootstrap
        self.topics = topics
        self.group_id = group_id
        self.handlers = dict(handlers)
        self.batch_handlers = dict(batch_handlers or {})
        self.sessions = sessions
        self.tables = tables
        self.producer = producer
        self.retry = retry or RetryPolicy()
        self.max_batch = max_batch
        self.commit_interval = commit_interval
        self.fill_wait = fill_wait
        self._last_commit = 0.0
        # Called after each committed transaction, e.g. to wake the outbox relay.
        self.on_committed = on_committed
        self.prepare = prepare
        self.claim_events = claim_events
        self.offload_records = offload_records
        self._consumer: AIOKafkaConsumer | None = None
        self._processed: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}
        self._stopping = asyncio.Event()
        # Set once the group has given this consumer partitions: what a caller waits on before
        # its first publish counts (bench/bus.py), so no record waits on a rebalance.
        self.ready = asyncio.Event()
        # The handling (one transaction) of the previous poll, while the next one is fetched.
        self._handling: asyncio.Task[None] | None = None
        self._committing: asyncio.Task[None] | None = None  # a periodic offset commit
        self._counters: dict[tuple[str, str], Any] = {}
        self._latency = HANDLE_LATENCY.labels(name)

    async def run_supervised(self, *, first_delay: float = 1.0, max_delay: float = 30.0) -> None:
        """`run`, started again (after a growing pause) whenever it fails, until `stop`.

        The loop fails when Kafka does: an offset commit refused after the group moved on, a
        coordinator that stays away. Events are never lost by that (offsets only move after
        their transaction) and a new consumer joins the group again; without a restart the
        service would keep answering HTTP while its events silently stopped."""
        delay = first_delay
        while not self._stopping.is_set():
            try:
                await self.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._stopping.is_set():
                    return
                RESTARTS.labels(self.name).inc()
                logger.error(
                    "consumer_failed",
                    consumer=self.name,
                    error=f"{type(exc).__name__}: {exc}",
                    restart_in_seconds=delay,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
            delay = min(delay * 2, max_delay)

    async def run(self) -> None:
        # A new consumer starts from the group's committed offsets: nothing handled by an
        # earlier run (before a restart) is committed from here.
        self._processed.clear()
        self._committed.clear()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            client_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=6000,
            heartbeat_interval_ms=2000,
            max_poll_records=self.max_batch,
        )
        self._consumer = consumer
        await consumer.start()
        consumer.subscribe(self.topics, listener=_CommitOnRevoke(self))
        logger.info("consumer_started", consumer=self.name, topics=self.topics)
        try:
            while not self._stopping.is_set():
                # While the previous poll's transaction runs, the next poll is fetched, topped
                # up and parsed: the database round trips overlap the fetch.
                batches = await consumer.getmany(timeout_ms=200, max_records=self.max_batch)
                if batches:
                    batches = await self._fill(consumer, batches)
                parsed, prepared = await self._parse_and_prepare(batches)
                await self._finish_handling()
                if consumer.assignment():
                    self.ready.set()
                if batches:
                    # A partition revoked meanwhile is its new owner's to handle now.
                    assigned = consumer.assignment()
                    if any(tp not in assigned for tp in batches):
                        batches, parsed, prepared = (
                            {tp: records for tp, records in batches.items() if tp in assigned},
                            None,
                            None,
                        )
                    if batches:
                        self._handling = asyncio.create_task(
                            self._handle_fetch(batches, parsed, prepared)
                        )
                # Offsets go to Kafka at most every commit_interval (and on revoke and stop):
                # side effects are already exactly-once through processed_events, so a later
                # commit only means a longer (deduplicated) replay after a crash.
                # The commit is a round trip to the group coordinator: on its way while the
                # loop goes on (one at a time; a failed one raises here, as before).
                committing = self._committing
                if committing is not None and committing.done():
                    self._committing = None
                    committing.result()
                if (
                    self._committing is None
                    and time.monotonic() - self._last_commit >= self.commit_interval
                ):
                    self._committing = asyncio.create_task(self.commit_processed())
            await self._finish_handling()
        finally:
            try:
                handling = self._handling
                if handling is not None and not handling.done():
                    handling.cancel()  # run() itself was cancelled or failed
                    await asyncio.wait({handling})
                self._handling = None
                await self.commit_processed()
            finally:
                await consumer.stop()
                self._consumer = None
                logger.info("consumer_stopped", consumer=self.name)

    def stop(self) -> None:
        self._stopping.set()

    async def settle(self, within: float | None = None) -> None:
        """Wait until the poll being handled (if any) is done, whatever its outcome, or until
        `within` seconds have passed."""
        handling = self._handling
        if handling is not None and not handling.done():
            await asyncio.wait({handling}, timeout=within)

    async def _finish_handling(self) -> None:
        """Wait for the poll being handled; raise what it raised (a stop mid-retry)."""
        handling = self._handling
        if handling is None:
            return
        try:
            await handling
        finally:
            # Cancelled while waiting, it is still unwinding: run()'s cleanup waits for it.
            if handling.done():
                self._handling = None

    async def _fill(
        self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[Record]]
    ) -> dict[TopicPartition, list[Record]]:
        """Top a small poll up with what else arrives within `fill_wait`: the transaction and
        commit cost the same for 5 records as for 500, so fuller polls mean more throughput."""
        count = sum(len(records) for records in batches.values())
        deadline = time.monotonic() + self.fill_wait
        while count < self.max_batch and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
            more = await consumer.getmany(timeout_ms=0, max_records=self.max_batch - count)
            for tp, records in more.items():
                batches.setdefault(tp, []).extend(records)
                count += len(records)
        return batches

    async def commit_processed(self) -> None:
        """Commit the offsets of what was handled, once any periodic commit on its way is done."""
        committing = self._committing
        if committing is not None and committing is not asyncio.current_task():
            await asyncio.wait({committing})
            self._committing = None
            if not committing.cancelled() and committing.exception() is not None:
                # This commit carries its offsets too; the failure is only worth a line.
                logger.warning(
                    "offset_commit_failed", consumer=self.name, error=str(committing.exception())
                )
        consumer = self._consumer
        if consumer is None:
            return
        assigned = consumer.assignment()
        offsets = {
            tp: offset
            for tp, offset in self._processed.items()
            if tp in assigned and self._committed.get(tp) != offset
        }
        self._last_commit = time.monotonic()
        if not offsets:
            return
        await consumer.commit(offsets)
        self._committed.update(offsets)

    # ------------------------------------------------------------------ handling

    async def _parse_and_prepare(
        self, batches: dict[TopicPartition, list[Record]]
    ) -> tuple[list[Envelope] | None, _Prepared | None]:
        """A poll parsed and prepared. A large one is worked out in a thread, so that the event
        loop stays free meanwhile and the previous poll's transaction goes on (its statements
        are sent as soon as the ones before return): in the loop, the whole block would hold the
        transaction up, and PostgreSQL and Python would take turns."""
        count = sum(len(records) for records in batches.values())
        if not count:
            return None, None
        if count < self.offload_records:
            return self._parse_and_prepare_now(batches)
        return await asyncio.to_thread(self._parse_and_prepare_now, batches)

    def _parse_and_prepare_now(
        self, batches: dict[TopicPartition, list[Record]]
    ) -> tuple[list[Envelope] | None, _Prepared | None]:
        parsed = self._parse_all(batches)
        return parsed, (self._prepare(parsed) if parsed is not None else None)

    def _parse_all(self, batches: dict[TopicPartition, list[Record]]) -> list[Envelope] | None:
        """The envelopes of a whole poll; None when one is poison (then it is handled by
        partition and record, where the poison one is dead-lettered)."""
        try:
            return [self._parse(record) for records in batches.values() for record in records]
        except _PoisonError:
            return None

    def _relevant(self, envelopes: list[Envelope]) -> list[Envelope]:
        """The envelopes some handler takes, a repeat of an id inside the poll left out."""
        handlers, batch_handlers = self.handlers, self.batch_handlers
        unique: dict[str, Envelope] = {}
        for envelope in envelopes:
            if envelope.type in handlers or envelope.type in batch_handlers:
                unique.setdefault(envelope.id, envelope)
        return list(unique.values())

    def _group(self, envelopes: list[Envelope]) -> dict[str, list[Envelope]]:
        """The batch handlers' envelopes by type, in order."""
        groups: dict[str, list[Envelope]] = {}
        for envelope in envelopes:
            if envelope.type in self.batch_handlers:
                groups.setdefault(envelope.type, []).append(envelope)
        return groups

    def _prepare(self, envelopes: list[Envelope]) -> _Prepared | None:
        if self.prepare is None:
            return None
        relevant = self._relevant(envelopes)
        groups = self._group(relevant)
        if not groups:
            return None
        return _Prepared(len(relevant), groups, self.prepare(groups))

    async def _handle_fetch(
        self,
        batches: dict[TopicPartition, list[Record]],
        envelopes: list[Envelope] | None,
        prepared: _Prepared | None = None,
    ) -> None:
        """Everything one poll returned, in one transaction; per partition if that fails."""
        try:
            if envelopes is None:
                raise _PoisonError("a record of the poll is not a CloudEvent we can read")
            await self._apply(envelopes, prepared)
        except Exception as exc:
            logger.info("fetch_failed_retrying_by_partition", consumer=self.name, error=str(exc))
            for tp, records in batches.items():
                if self._stopping.is_set():
                    return
                await self._handle_partition_batch(tp, records)
            return
        for tp, records in batches.items():
            self._processed[tp] = records[-1].offset + 1

    async def _handle_partition_batch(self, tp: TopicPartition, records: list[Record]) -> None:
        try:
            envelopes = [self._parse(record) for record in records]
            await self._apply(envelopes)
        except Exception as exc:
            logger.info("batch_failed_retrying_singly", consumer=self.name, error=str(exc))
            for record in records:
                await self._handle_one(record)
                self._processed[tp] = record.offset + 1
            return
        self._processed[tp] = records[-1].offset + 1

    def _parse(self, record: Record) -> Envelope:
        try:
            return Envelope.from_kafka(record.key, record.value, record.headers)
        except EnvelopeError as exc:
            raise _PoisonError(str(exc)) from exc

    async def _apply(self, envelopes: list[Envelope], prepared: _Prepared | None = None) -> None:
        """Handle envelopes in one transaction, skipping those this consumer already handled."""
        relevant = self._relevant(envelopes)
        if not relevant:
            return
        async with self.sessions() as session, session.begin():
            if self.claim_events:
                fresh_ids = await self._claim(session, [envelope.id for envelope in relevant])
                fresh = [envelope for envelope in relevant if envelope.id in fresh_ids]
            else:
                fresh = relevant
            if prepared is not None and prepared.count == len(fresh):
                # Nothing was claimed before: the groups are the ones prepared.
                batched = prepared.groups
                session.info[PREPARED] = prepared.value
            else:
                batched = self._group(fresh)
            for envelope in fresh:
                if envelope.type not in self.batch_handlers:
                    await self.handlers[envelope.type](session, envelope)
            for event_type, group in batched.items():
                await self.batch_handlers[event_type](session, group)
        now = time.time()
        handled_ids = {envelope.id for envelope in fresh}
        tally: dict[tuple[str, str], int] = {}
        handlers, batch_handlers = self.handlers, self.batch_handlers
        for envelope in envelopes:
            if envelope.type not in handlers and envelope.type not in batch_handlers:
                continue
            outcome = "handled" if envelope.id in handled_ids else "duplicate"
            tally[(envelope.type, outcome)] = tally.get((envelope.type, outcome), 0) + 1
            self._latency.observe(max(0.0, now - envelope.time.timestamp()))
        for (event_type, outcome), count in tally.items():
            self._counter(event_type, outcome).inc(count)
        if fresh and self.on_committed is not None:
            self.on_committed()

    def _counter(self, event_type: str, outcome: str) -> Any:
        # labels() costs a lookup per call; the hot path keeps the children it has made.
        child = self._counters.get((event_type, outcome))
        if child is None:
            child = self._counters[(event_type, outcome)] = HANDLED.labels(
                self.name, event_type, outcome
            )
        return child

    async def _claim(self, session: AsyncSession, event_ids: list[str]) -> set[str]:
        """Record the ids in `processed_events`; return those this consumer had not seen."""
        processed = self.tables.processed_events
        unique = list(dict.fromkeys(event_ids))
        if session.get_bind().dialect.name == "postgresql":
            # One round trip and one prepared statement whatever the batch size; the new ids
            # come back as one array rather than a row each.
            inserted = (
                pg_insert(processed)
                .from_select(
                    ["consumer", "event_id"],
                    select(
                        bindparam("consumer", type_=String),
                        func.unnest(bindparam("ids", type_=ARRAY(String))),
                    ),
                )
                .on_conflict_do_nothing()
                .returning(processed.c.event_id)
                .cte("inserted")
            )
            statement = select(func.array_agg(inserted.c.event_id))
            claimed = await session.scalar(statement, {"consumer": self.group_id, "ids": unique})
            return set(claimed or ())
        seen = set(
            (
                await session.scalars(
                    select(processed.c.event_id).where(
                        processed.c.consumer == self.group_id, processed.c.event_id.in_(unique)
                    )
                )
            ).all()
        )
        fresh = [event_id for event_id in unique if event_id not in seen]
        if fresh:
            await session.execute(
                insert(processed),
                [{"consumer": self.group_id, "event_id": event_id} for event_id in fresh],
            )
        return set(fresh)

    async def _handle_one(self, record: Record) -> None:
        error: Exception | None = None
        attempt = 0
        while attempt < self.retry.attempts:
            attempt += 1
            try:
                await self._apply([self._parse(record)])
                return
            except _PoisonError as exc:
                error = exc
                break  # retrying cannot help
            except Exception as exc:
                if is_infrastructure_failure(exc) and not self._stopping.is_set():
                    # Not the event's fault: hold the partition until the dependency is back.
                    logger.warning("dependency_down", consumer=self.name, error=str(exc))
                    attempt -= 1
                    await asyncio.sleep(self.retry.max_backoff)
                    continue
                error = exc
                logger.warning(
                    "handler_failed",
                    consumer=self.name,
                    topic=record.topic,
                    offset=record.offset,
                    attempt=attempt,
                    error=str(exc),
                )
                if attempt < self.retry.attempts and not self._stopping.is_set():
                    await asyncio.sleep(self.retry.backoff(attempt))
                elif self._stopping.is_set():
                    # Stopping mid-retry: leave it uncommitted for the next owner.
                    raise
        assert error is not None
        await self._dead_letter(record, error, attempts=attempt)

    async def _dead_letter(self, record: Record, error: Exception, *, attempts: int) -> None:
        headers = [
            *list(record.headers),
            ("x-error", str(error)[:1000].encode()),
            ("x-error-type", type(error).__name__.encode()),
            ("x-origin-topic", record.topic.encode()),
            ("x-origin-partition", str(record.partition).encode()),
            ("x-origin-offset", str(record.offset).encode()),
            ("x-consumer", self.group_id.encode()),
            ("x-attempts", str(attempts).encode()),
        ]
        await self.producer.send_many(
            [(dlq_topic(record.topic), record.key, record.value or b"", headers)]
        )
        DEAD_LETTERED.labels(self.name, record.topic).inc()
        logger.error(
            "event_dead_lettered",
            consumer=self.name,
            topic=record.topic,
            offset=record.offset,
            error=str(error),
        )
