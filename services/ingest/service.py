"""Ingest rules: connections and their secrets, validation of the REST intake, interactions,
idempotency. The write path itself is `pipeline.py`. No FastAPI here."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ingest import repository
from services.ingest.credentials import CredentialBox
from services.ingest.exceptions import (
    ConnectionNotFoundError,
    IdempotencyConflictError,
    InteractionNotFoundError,
)
from services.ingest.models import (
    Connection,
    IdempotentResponse,
    InteractionRecord,
)
from services.ingest.pipeline import ConnectionInfo
from services.ingest.schemas import (
    ConnectionCreate,
    ConnectionRead,
    ConnectionUpdate,
    IntakeResult,
    InteractionIn,
    ItemOutcome,
    Platform,
)
from shared.auth import Principal, ensure_brand_visible
from shared.events.interactions import (
    Interaction,
)

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


async def get_connection(
    session: AsyncSession, connection_id: str, principal: Principal
) -> Connection:
    """The connection, or 404 when it is missing or of a brand the key may not see."""
    missing = ConnectionNotFoundError(f"no connection with id {connection_id}")
    connection = await repository.get_connection(session, connection_id)
    if connection is None:
        raise missing
    ensure_brand_visible(principal, connection.brand_id, missing)
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


@dataclass
class CachedConnection:
    """A connection and its decrypted secrets, as a webhook needs them."""

    id: str
    platform: str
    current: dict[str, str]
    previous: dict[str, str]
    previous_until: datetime | None

    def secrets(self, name: str, *, now: datetime) -> list[str]:
        """The secret `name` in force, then the previous one while its grace period lasts."""
        found = [self.current[name]] if self.current.get(name) else []
        until = self.previous_until
        previous = self.previous.get(name)
        if until is not None and until > now and previous and previous not in found:
            found.append(previous)
        return found


def cached_connection(connection: Connection, box: CredentialBox) -> CachedConnection:
    previous = connection.previous_secrets_encrypted
    return CachedConnection(
        id=connection.id,
        platform=connection.platform,
        current=box.open(connection.secrets_encrypted),
        previous=box.open(previous) if previous is not None else {},
        previous_until=connection.previous_valid_until,
    )


class ConnectionCache:
    """Connections by id, secrets decrypted, for a few seconds: a webhook then costs no lookup
    and no decryption. Changes made through this process drop the entry at once; other
    replicas see them within the TTL."""

    def __init__(self, ttl_seconds: float, box: CredentialBox) -> None:
        self.ttl = ttl_seconds
        self.box = box
        self._entries: dict[str, tuple[float, CachedConnection]] = {}

    async def get(
        self, sessions: async_sessionmaker[AsyncSession], connection_id: str
    ) -> CachedConnection | None:
        now = time.monotonic()
        entry = self._entries.get(connection_id)
        if entry is not None and entry[0] > now:
            return entry[1]
        # A session of its own, returned at once: no connection is held while the request
        # waits on Kafka or the writer.
        async with sessions() as session:
            connection = await repository.get_connection(session, connection_id)
            if connection is not None:
                session.expunge(connection)
        if connection is None:
            return None
        cached = cached_connection(connection, self.box)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[connection_id] = (now + self.ttl, cached)
        return cached

    def forget(self, connection_id: str) -> None:
        self._entries.pop(connection_id, None)


def connection_info(connection: Connection) -> ConnectionInfo:
    return ConnectionInfo(
        id=connection.id,
        brand_id=connection.brand_id,
        platform=connection.platform,
        default_lang=connection.default_lang,
    )


# ---------------------------------------------------------------------------------- interactions


def to_interaction(record: InteractionRecord) -> Interaction:
    return Interaction.model_validate(record.document)


async def get_interaction(
    session: AsyncSession, interaction_id: str, principal: Principal
) -> Interaction:
    missing = InteractionNotFoundError(f"no interaction with id {interaction_id}")
    record = await repository.get_interaction(session, interaction_id)
    if record is None:
        raise missing
    ensure_brand_visible(principal, record.brand_id, missing)
    return to_interaction(record)


ValidItems = list[tuple[int, InteractionIn]]


def validate_intake(
    raw_items: Sequence[Any], principal: Principal
) -> tuple[ValidItems, list[ItemOutcome]]:
    """Validate each item on its own: the valid ones go on, the others are reported. An item
    for a brand outside the key's brand limit is rejected like an invalid one."""
    valid: ValidItems = []
    rejected: list[ItemOutcome] = []
    for index, raw in enumerate(raw_items):
        try:
            item = InteractionIn.model_validate(raw)
            if not principal.allows_brand(item.brand_id):
                reason = f"this API key may not ingest for brand {item.brand_id}"
                errors = [{"field": "brand_id", "reason": reason}]
                rejected.append(ItemOutcome(index=index, status="rejected", errors=errors))
                continue
            valid.append((index, item))
        except ValidationError as exc:
            errors = [
                {
                    "field": ".".join(str(part) for part in error["loc"]) or "item",
                    "reason": error["msg"],
                }
                for error in exc.errors()
            ]
            rejected.append(ItemOutcome(index=index, status="rejected", errors=errors))
    return valid, rejected


def intake_result(
    valid: ValidItems,
    rejected: list[ItemOutcome],
    outcomes: list[tuple[Literal["accepted", "duplicate"], str | None]],
) -> IntakeResult:
    items = rejected + [
        ItemOutcome(index=index, status=status, id=interaction_id)
        for (index, _item), (status, interaction_id) in zip(valid, outcomes, strict=True)
    ]
    items.sort(key=lambda outcome: outcome.index)
    return IntakeResult(
        accepted=sum(1 for outcome in items if outcome.status == "accepted"),
        duplicates=sum(1 for outcome in items if outcome.status == "duplicate"),
        rejected=len(rejected),
        items=items,
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
