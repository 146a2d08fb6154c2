"""Ingest rules: connections and their secrets, the REST intake, and the webhook pipeline
(normalise → deduplicate → enrich → archive → stage events in the outbox). No FastAPI here;
the caller's transaction commits, so an answer of 2xx means the events are durably accepted."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest import repository
from services.ingest.credentials import CredentialBox
from services.ingest.enrichment import enrich
from services.ingest.exceptions import (
    ConnectionNotFoundError,
    IdempotencyConflictError,
    InteractionNotFoundError,
)
from services.ingest.models import (
    Connection,
    IdempotentResponse,
    InteractionRecord,
    RawPayload,
    bus_tables,
)
from services.ingest.platforms.base import ParsedItem
from services.ingest.schemas import (
    ConnectionCreate,
    ConnectionRead,
    ConnectionUpdate,
    IntakeResult,
    InteractionIn,
    ItemOutcome,
    Platform,
)
from shared.bus.outbox import add_to_outbox
from shared.events.envelope import Envelope
from shared.events.interactions import (
    Channel,
    DeliveryStatus,
    EngagementRecorded,
    Flags,
    Interaction,
    InteractionDeleted,
    Metrics,
    thread_key,
)
from shared.pii import find_pii

SOURCE = "/socialcare/ingest"


# ---------------------------------------------------------------------------------- connections


def connection_read(connection: Connection, box: CredentialBox) -> ConnectionRead:
    return ConnectionRead(
        id=connection.id,
        brand_id=connection.brand_id,
        platform=Platform(connection.platform),
        name=connection.name,
        account_ids=connection.account_ids,
        default_lang=connection.default_lang,
        secrets_set=sorted(box.open(connection.secrets_encrypted)),
        previous_secrets_valid_until=connection.previous_valid_until,
        webhook_path=f"/v1/webhooks/{connection.platform}/{connection.id}",
        created_at=connection.created_at,
        updated_at=connection.updated_at,
    )


async def create_connection(
    session: AsyncSession, data: ConnectionCreate, box: CredentialBox
) -> Connection:
    now = datetime.now(UTC)
    connection = Connection(
        id=str(uuid.uuid4()),
        brand_id=data.brand_id,
        platform=data.platform.value,
        name=data.name,
        account_ids=[str(account) for account in data.account_ids],
        default_lang=data.default_lang,
        secrets_encrypted=box.seal(data.secrets.plain()),
        created_at=now,
        updated_at=now,
    )
    repository.add(session, connection)
    await session.flush()
    return connection


async def get_connection(session: AsyncSession, connection_id: str) -> Connection:
    connection = await repository.get_connection(session, connection_id)
    if connection is None:
        raise ConnectionNotFoundError(f"no connection with id {connection_id}")
    return connection


async def update_connection(
    session: AsyncSession,
    connection: Connection,
    data: ConnectionUpdate,
    box: CredentialBox,
    *,
    grace: timedelta,
) -> Connection:
    now = datetime.now(UTC)
    if data.name is not None:
        connection.name = data.name
    if data.account_ids is not None:
        connection.account_ids = [str(account) for account in data.account_ids]
    if "default_lang" in data.model_fields_set:
        connection.default_lang = data.default_lang
    if data.secrets is not None:
        # Rotation: the platform may still sign with the old secret for a while.
        current = box.open(connection.secrets_encrypted)
        connection.previous_secrets_encrypted = connection.secrets_encrypted
        connection.previous_valid_until = now + grace
        connection.secrets_encrypted = box.seal({**current, **data.secrets.plain()})
    connection.updated_at = now
    await session.flush()
    return connection


def secret_candidates(
    connection: Connection, name: str, box: CredentialBox, *, now: datetime
) -> list[str]:
    """The secret `name` now in force, then the previous one while its grace period lasts."""
    candidates = []
    current = box.open(connection.secrets_encrypted).get(name)
    if current:
        candidates.append(current)
    until = connection.previous_valid_until
    if connection.previous_secrets_encrypted is not None and until is not None:
        if until.tzinfo is None:  # SQLite returns naive UTC
            until = until.replace(tzinfo=UTC)
        if until > now:
            previous = box.open(connection.previous_secrets_encrypted).get(name)
            if previous and previous not in candidates:
                candidates.append(previous)
    return candidates


# ---------------------------------------------------------------------------------- interactions


def _interaction_document(interaction: Interaction) -> dict[str, Any]:
    return interaction.model_dump(mode="json")


def to_interaction(record: InteractionRecord) -> Interaction:
    return Interaction.model_validate(record.document)


async def get_interaction(session: AsyncSession, interaction_id: str) -> Interaction:
    record = await repository.get_interaction(session, interaction_id)
    if record is None:
        raise InteractionNotFoundError(f"no interaction with id {interaction_id}")
    return to_interaction(record)


@dataclass
class Outcome:
    """What one item became: a new event, an update, or a duplicate."""

    status: Literal["accepted", "duplicate"]
    interaction_id: str | None = None


@dataclass
class PipelineStats:
    received: int = 0
    published: int = 0
    duplicates: int = 0
    unknown: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


class Pipeline:
    """Turns normalised items into stored interactions and staged events, in one transaction."""

    def __init__(self, session: AsyncSession, *, now: datetime | None = None) -> None:
        self.session = session
        self.now = now or datetime.now(UTC)
        self.stats = PipelineStats()

    async def _stage(self, event_type: str, key: str, data: BaseModel) -> None:
        await add_to_outbox(
            self.session, bus_tables, Envelope(type=event_type, source=SOURCE, key=key, data=data)
        )
        self.stats.published += 1
        self.stats.by_type[event_type] = self.stats.by_type.get(event_type, 0) + 1

    async def store_interaction(
        self, interaction: Interaction, *, existing: InteractionRecord | None
    ) -> str:
        """Insert or update the record and stage interaction.received / .updated."""
        document = _interaction_document(interaction)
        if existing is None:
            repository.add(
                self.session,
                InteractionRecord(
                    id=interaction.id,
                    brand_id=interaction.brand_id,
                    connection_id=interaction.connection_id,
                    channel=interaction.channel.value,
                    kind=interaction.kind.value,
                    external_id=interaction.external_id,
                    thread_key=interaction.thread_key,
                    created_at=interaction.created_at,
                    received_at=interaction.received_at,
                    document=document,
                ),
            )
            event_type = "interaction.received"
        else:
            existing.document = document
            existing.kind = interaction.kind.value
            existing.deleted_at = None
            event_type = "interaction.updated"
        await self.session.flush()
        await self._stage(event_type, interaction.thread_key, interaction)
        return interaction.id

    def build_interaction(
        self,
        *,
        interaction_id: str,
        brand_id: str,
        connection_id: str | None,
        channel: Channel,
        fields: dict[str, Any],
        text: str,
        lang: str | None,
        default_lang: str | None,
        needs_fetch: bool = False,
        own_message: bool = False,
    ) -> Interaction:
        sentiment = None
        if text.strip():
            enrichment = enrich(text, default_lang=lang or default_lang)
            lang = lang or enrichment.lang
            sentiment = enrichment.sentiment
        return Interaction(
            id=interaction_id,
            brand_id=brand_id,
            connection_id=connection_id,
            channel=channel,
            text=text,
            lang=lang or (default_lang if text.strip() else None),
            sentiment=sentiment,
            received_at=self.now,
            flags=Flags(pii=bool(find_pii(text)), needs_fetch=needs_fetch, own_message=own_message),
            **fields,
        )

    # ------------------------------------------------------------------ webhooks

    async def apply_parsed(
        self, connection: Connection, items: Sequence[ParsedItem], unknown: int
    ) -> PipelineStats:
        self.stats.received += len(items)
        self.stats.unknown += unknown
        for item in items:
            fresh = await repository.claim_delivery(
                self.session,
                source=connection.id,
                external_id=item.external_id,
                change_kind=item.dedupe_key,
            )
            if not fresh:
                self.stats.duplicates += 1
                continue
            if item.change in ("received", "updated"):
                await self._received(connection, item)
            elif item.change == "deleted":
                await self._deleted(connection, item)
            elif item.change == "engagement":
                await self._engagement(connection, item)
            else:
                await self._status(connection, item)
        return self.stats

    async def _received(self, connection: Connection, item: ParsedItem) -> None:
        existing = await repository.find_interaction(
            self.session,
            brand_id=connection.brand_id,
            channel=item.channel.value,
            external_id=item.external_id,
        )
        if existing is not None and item.change == "received":
            # Same item reached us through another change kind (e.g. mention then comment).
            self.stats.duplicates += 1
            return
        assert item.kind is not None
        interaction = self.build_interaction(
            interaction_id=existing.id if existing else str(uuid.uuid4()),
            brand_id=connection.brand_id,
            connection_id=connection.id,
            channel=item.channel,
            fields={
                "kind": item.kind,
                "external_id": item.external_id,
                "thread_external_id": item.thread_external_id,
                "parent_external_id": item.parent_external_id,
                "url": item.url,
                "author": item.author,
                "created_at": item.created_at or self.now,
                "metrics": item.metrics,
            },
            text=item.text,
            lang=None,
            default_lang=connection.default_lang,
            needs_fetch=item.needs_fetch,
            own_message=item.own_message,
        )
        await self.store_interaction(interaction, existing=existing)

    async def _deleted(self, connection: Connection, item: ParsedItem) -> None:
        existing = await repository.find_interaction(
            self.session,
            brand_id=connection.brand_id,
            channel=item.channel.value,
            external_id=item.external_id,
        )
        if existing is not None:
            existing.deleted_at = self.now
        interaction_id = existing.id if existing else _stable_id(connection.id, item.external_id)
        event = InteractionDeleted(
            id=interaction_id,
            brand_id=connection.brand_id,
            channel=item.channel,
            external_id=item.external_id,
            thread_external_id=item.thread_external_id,
            deleted_at=item.created_at or self.now,
            reason=item.deleted_reason or "deleted",
        )
        await self._stage(
            "interaction.deleted",
            thread_key(connection.brand_id, item.channel.value, item.thread_external_id),
            event,
        )

    async def _engagement(self, connection: Connection, item: ParsedItem) -> None:
        existing = await repository.find_interaction(
            self.session,
            brand_id=connection.brand_id,
            channel=item.channel.value,
            external_id=item.external_id,
        )
        kind = item.engagement_kind or "reaction"
        delta = item.metrics
        if item.engagement_delta and not any(delta.model_dump().values()):
            field_name = {"share": "shares", "view": "views", "comment": "comments"}.get(
                kind, "likes"
            )
            # Removals (delta -1) are reported in `kind`; counters stay non-negative.
            delta = Metrics(**{field_name: abs(item.engagement_delta)})
            if item.engagement_delta < 0:
                kind = f"{kind}.removed"
        event = EngagementRecorded(
            brand_id=connection.brand_id,
            channel=item.channel,
            external_id=item.external_id,
            thread_external_id=item.thread_external_id,
            interaction_id=existing.id if existing else None,
            kind=kind,
            actor_external_id=item.author.external_id,
            delta=delta,
            occurred_at=item.created_at or self.now,
        )
        await self._stage(
            "engagement.recorded",
            thread_key(connection.brand_id, item.channel.value, item.thread_external_id),
            event,
        )

    async def _status(self, connection: Connection, item: ParsedItem) -> None:
        event = DeliveryStatus(
            brand_id=connection.brand_id,
            channel=item.channel,
            external_id=item.external_id,
            thread_external_id=item.thread_external_id,
            status=item.status or "unknown",
            occurred_at=item.created_at or self.now,
        )
        await self._stage(
            "interaction.delivery_status",
            thread_key(connection.brand_id, item.channel.value, item.thread_external_id),
            event,
        )

    # ------------------------------------------------------------------ REST intake

    async def accept_item(self, item: InteractionIn) -> Outcome:
        """A REST item: new → received; same external id with other text → updated."""
        source = f"rest:{item.brand_id}:{item.channel.value}"
        digest = hashlib.sha256(item.model_dump_json().encode()).hexdigest()[:32]
        if not await repository.claim_delivery(
            self.session, source=source, external_id=item.external_id, change_kind=digest
        ):
            self.stats.duplicates += 1
            return Outcome("duplicate")
        existing = await repository.find_interaction(
            self.session,
            brand_id=item.brand_id,
            channel=item.channel.value,
            external_id=item.external_id,
        )
        interaction = self.build_interaction(
            interaction_id=existing.id if existing else str(uuid.uuid4()),
            brand_id=item.brand_id,
            connection_id=item.connection_id,
            channel=item.channel,
            fields={
                "kind": item.kind,
                "external_id": item.external_id,
                "thread_external_id": item.thread_external_id or item.external_id,
                "parent_external_id": item.parent_external_id,
                "url": item.url,
                "author": item.author,
                "created_at": item.created_at.astimezone(UTC),
                "metrics": item.metrics,
            },
            text=item.text,
            lang=item.lang,
            default_lang=None,
        )
        interaction_id = await self.store_interaction(interaction, existing=existing)
        return Outcome("accepted", interaction_id)


def _stable_id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "socialcare:" + ":".join(parts)))


def archive_raw(
    session: AsyncSession,
    connection: Connection,
    body: bytes,
    *,
    now: datetime,
    retention_days: int,
) -> None:
    if retention_days <= 0:
        return
    repository.add(
        session,
        RawPayload(
            id=str(uuid.uuid4()),
            connection_id=connection.id,
            platform=connection.platform,
            body=body,
            received_at=now,
            expires_at=now + timedelta(days=retention_days),
        ),
    )


async def accept_batch(
    session: AsyncSession, raw_items: Sequence[Any], *, allowed_brand: Callable[[str], bool]
) -> IntakeResult:
    """Validate each item on its own: valid items are accepted, invalid ones reported."""
    pipeline = Pipeline(session)
    outcomes: list[ItemOutcome] = []
    for index, raw in enumerate(raw_items):
        try:
            item = InteractionIn.model_validate(raw)
        except ValidationError as exc:
            outcomes.append(
                ItemOutcome(
                    index=index,
                    status="rejected",
                    errors=[
                        {
                            "field": ".".join(str(part) for part in error["loc"]) or "item",
                            "reason": error["msg"],
                        }
                        for error in exc.errors()
                    ],
                )
            )
            continue
        if not allowed_brand(item.brand_id):
            outcomes.append(
                ItemOutcome(
                    index=index,
                    status="rejected",
                    errors=[{"field": "brand_id", "reason": "not allowed for this API key"}],
                )
            )
            continue
        # A savepoint per item: one item's database error cannot undo the others.
        async with session.begin_nested():
            outcome = await pipeline.accept_item(item)
        outcomes.append(ItemOutcome(index=index, status=outcome.status, id=outcome.interaction_id))
    return IntakeResult(
        accepted=sum(1 for outcome in outcomes if outcome.status == "accepted"),
        duplicates=sum(1 for outcome in outcomes if outcome.status == "duplicate"),
        rejected=sum(1 for outcome in outcomes if outcome.status == "rejected"),
        items=outcomes,
    )


# ---------------------------------------------------------------------------------- idempotency


def request_fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def replay_idempotent(
    session: AsyncSession, *, owner: str, key: str, fingerprint: str
) -> IdempotentResponse | None:
    stored = await repository.get_idempotent(session, owner, key)
    if stored is None:
        return None
    if stored.request_hash != fingerprint:
        raise IdempotencyConflictError(
            "this Idempotency-Key was used with a different request body", field="Idempotency-Key"
        )
    return stored


def remember_idempotent(
    session: AsyncSession,
    *,
    owner: str,
    key: str,
    fingerprint: str,
    status_code: int,
    body: dict[str, Any],
) -> None:
    repository.add(
        session,
        IdempotentResponse(
            owner=owner, key=key, request_hash=fingerprint, status_code=status_code, body=body
        ),
    )
