"""`Batch`: many jobs deduplicated, turned into rows and events, and written in the caller's
transaction with a fixed number of statements (the queries are in `repository.py`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest import repository
from services.ingest.models import bus_tables
from services.ingest.pipeline.changes import Change, ConnectionInfo, IncompleteChangeError
from shared.bus.outbox import add_many_to_outbox
from shared.events.envelope import Envelope
from shared.events.interactions import (
    DeliveryStatus,
    EngagementRecorded,
    Flags,
    Interaction,
    InteractionDeleted,
    Metrics,
    thread_key,
)

SOURCE = "/socialcare/ingest"
ItemStatus = Literal["accepted", "duplicate"]


@dataclass
class Job:
    """One request's (or one webhook's) share of a batch."""

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
        keys = list(dict.fromkeys(change.delivery_key for change in changes))
        fresh = await repository.claim_delivery_keys(self.session, keys)
        await self._load_known(changes)
        results = []
        for job in self.jobs:
            result = JobResult(outcomes=[])
            for change in job.changes:
                if change.delivery_key not in fresh:
                    result.outcomes.append(("duplicate", None))
                    continue
                fresh.discard(change.delivery_key)
                published_before = len(self.envelopes)
                interaction_id = self._apply(change)
                published = len(self.envelopes) - published_before
                result.published += published
                status: ItemStatus = "accepted" if published else "duplicate"
                result.outcomes.append((status, interaction_id))
            results.append(result)
        await self._write()
        return results

    async def _load_known(self, changes: list[Change]) -> None:
        external_ids = list({change.item.external_id for change in changes})
        parents = list({c.item.parent_external_id for c in changes if c.item.parent_external_id})
        rows = await repository.known_interactions(
            self.session,
            brands=list({change.brand_id for change in changes}),
            external_ids=external_ids + parents,
        )
        for record_id, brand, channel, external_id, key in rows:
            self.known[(brand, channel, external_id)] = (record_id, key)

    # ----------------------------------------------------------------- per change (no I/O)

    def _stage(self, event_type: str, key: str, data: BaseModel) -> None:
        self.envelopes.append(Envelope(type=event_type, source=SOURCE, key=key, data=data))

    def _apply(self, change: Change) -> str | None:
        kind_of_change = change.item.change
        if kind_of_change in ("received", "updated"):
            return self._received(change)
        if kind_of_change == "deleted":
            return self._deleted(change)
        if kind_of_change == "engagement":
            self._engagement(change)
        else:
            self._status(change)
        return None

    def _thread_of(self, change: Change) -> str:
        """A reply joins its parent's conversation when we already know the parent."""
        item = change.item
        if item.parent_external_id:
            parent = self.known.get((change.brand_id, item.channel.value, item.parent_external_id))
            if parent is not None:
                return parent[1].split(":", 2)[2]
        return item.thread_external_id

    def _received(self, change: Change) -> str | None:
        item = change.item
        identity = (change.brand_id, item.channel.value, item.external_id)
        existing = self.known.get(identity)
        if existing is not None and item.change == "received" and change.from_platform:
            return existing[0]
        if item.kind is None:
            # A parser or mapper bug, not bad input: the REST schema and the parsers set a kind.
            raise IncompleteChangeError(f"a {item.change} change needs a kind: {item.external_id}")
        interaction_id = existing[0] if existing else str(uuid.uuid4())
        interaction = Interaction(
            id=interaction_id,
            brand_id=change.brand_id,
            connection_id=change.connection_id,
            channel=item.channel,
            kind=item.kind,
            external_id=item.external_id,
            thread_external_id=self._thread_of(change),
            parent_external_id=item.parent_external_id,
            url=item.url,
            author=item.author,
            text=item.text,
            lang=change.lang or (change.default_lang if item.text.strip() else None),
            sentiment=change.sentiment,
            created_at=item.created_at or self.now,
            received_at=self.now,
            metrics=item.metrics,
            flags=Flags(
                pii=change.pii,
                needs_fetch=item.needs_fetch,
                own_message=item.own_message,
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

    def _thread_key_of(self, change: Change, existing: tuple[str, str] | None) -> str:
        if existing is not None:
            return existing[1]
        item = change.item
        return thread_key(change.brand_id, item.channel.value, item.thread_external_id)

    def _deleted(self, change: Change) -> str:
        item = change.item
        existing = self.known.get((change.brand_id, item.channel.value, item.external_id))
        if existing is not None:
            self.deletions.append(existing[0])
        key = self._thread_key_of(change, existing)
        interaction_id = existing[0] if existing else _stable_id(change.source, item.external_id)
        event = InteractionDeleted(
            id=interaction_id,
            brand_id=change.brand_id,
            channel=item.channel,
            external_id=item.external_id,
            thread_external_id=key.split(":", 2)[2],
            deleted_at=item.created_at or self.now,
            reason=item.deleted_reason or "deleted",
        )
        self._stage("interaction.deleted", key, event)
        return interaction_id

    def _engagement(self, change: Change) -> None:
        item = change.item
        existing = self.known.get((change.brand_id, item.channel.value, item.external_id))
        kind = item.engagement_kind or "reaction"
        delta = item.metrics
        if item.engagement_delta and not any(delta.model_dump().values()):
            counter = {"share": "shares", "view": "views", "comment": "comments"}.get(kind, "likes")
            # Removals (delta -1) are told by `kind`; counters stay non-negative.
            delta = Metrics(**{counter: abs(item.engagement_delta)})
            if item.engagement_delta < 0:
                kind = f"{kind}.removed"
        key = self._thread_key_of(change, existing)
        event = EngagementRecorded(
            brand_id=change.brand_id,
            channel=item.channel,
            external_id=item.external_id,
            thread_external_id=key.split(":", 2)[2],
            interaction_id=existing[0] if existing else None,
            kind=kind,
            reaction_type=item.reaction_type,
            actor_external_id=item.author.external_id,
            delta=delta,
            occurred_at=item.created_at or self.now,
        )
        self._stage("engagement.recorded", key, event)

    def _status(self, change: Change) -> None:
        item = change.item
        key = thread_key(change.brand_id, item.channel.value, item.thread_external_id)
        event = DeliveryStatus(
            brand_id=change.brand_id,
            channel=item.channel,
            external_id=item.external_id,
            thread_external_id=item.thread_external_id,
            status=item.status or "unknown",
            occurred_at=item.created_at or self.now,
            account_external_id=item.account_external_id,
            # Messenger / Instagram receipts without message ids: the whole conversation up to
            # this moment (its `external_id` names the report, so a later one is not a duplicate).
            watermark=item.status_watermark,
        )
        self._stage("interaction.delivery_status", key, event)

    # ----------------------------------------------------------------- writes

    async def _write(self) -> None:
        session = self.session
        await repository.insert_interactions(session, self.new_records)
        await repository.update_interactions(session, self.updates)
        await repository.mark_interactions_deleted(session, self.deletions, now=self.now)
        await add_many_to_outbox(session, bus_tables, self.envelopes)
        await repository.insert_raw_payloads(
            session,
            [
                {
                    "id": str(uuid.uuid4()),
                    "connection_id": job.connection.id,
                    "platform": job.connection.platform,
                    "body": job.raw_body,
                    "received_at": self.now,
                    "expires_at": self.now + timedelta(days=job.retention_days),
                }
                for job in self.jobs
                if job.raw_body is not None
                and job.connection is not None
                and job.retention_days > 0
            ],
        )
