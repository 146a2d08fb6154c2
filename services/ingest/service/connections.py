"""Connections: platform accounts, their sealed secrets and rotation, and the short-lived cache
of decrypted connections that webhooks are verified against."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ingest import repository
from services.ingest.credentials import CredentialBox
from services.ingest.exceptions import ConnectionNotFoundError
from services.ingest.models import Connection
from services.ingest.pipeline import ConnectionInfo
from services.ingest.schemas import (
    ConnectionCreate,
    ConnectionPage,
    ConnectionRead,
    ConnectionUpdate,
    Platform,
)
from shared.auth import Principal, ensure_brand_visible
from shared.pagination import fetch_size


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


async def list_connections(
    session: AsyncSession,
    principal: Principal,
    box: CredentialBox,
    *,
    brand_id: str | None,
    limit: int,
    cursor: str | None,
) -> ConnectionPage:
    """The connections the key may see, by id."""
    rows = await repository.list_connections(
        session,
        brands=principal.brands,
        brand_id=brand_id,
        limit=fetch_size(limit),
        after_id=cursor,
    )
    return ConnectionPage.from_rows(
        rows, limit, item=lambda row: connection_read(row, box), cursor=lambda row: row.id
    )


async def delete_connection(session: AsyncSession, connection: Connection) -> None:
    await repository.delete_connection(session, connection)


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
    # What the workers need, carried in the webhook's event so they need not load it again.
    brand_id: str
    default_lang: str | None
    account_ids: list[str]
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
        brand_id=connection.brand_id,
        default_lang=connection.default_lang,
        account_ids=list(connection.account_ids),
        current=box.open(connection.secrets_encrypted),
        previous=box.open(previous) if previous is not None else {},
        previous_until=connection.previous_valid_until,
    )


class ConnectionCache:
    """Connections by id, secrets decrypted, for a few seconds: a webhook then costs no lookup
    and no decryption. Changes made through this process drop the entry at once; other
    replicas see them within the TTL.

    Ids that name no connection are remembered too (as None, for the same TTL), so a flood of
    webhooks to a connection that does not exist costs one lookup per id and TTL; an id that
    is not a UUID, as every connection id is, costs none. Both maps are bounded."""

    max_entries = 10_000

    def __init__(self, ttl_seconds: float, box: CredentialBox) -> None:
        self.ttl = ttl_seconds
        self.box = box
        self._entries: dict[str, tuple[float, CachedConnection | None]] = {}

    async def get(
        self, sessions: async_sessionmaker[AsyncSession], connection_id: str
    ) -> CachedConnection | None:
        now = time.monotonic()
        entry = self._entries.get(connection_id)
        if entry is not None and entry[0] > now:
            return entry[1]
        if not _is_uuid(connection_id):
            return None
        # A session of its own, returned at once: no connection is held while the request
        # waits on Kafka or the writer.
        async with sessions() as session:
            connection = await repository.get_connection(session, connection_id)
            if connection is not None:
                session.expunge(connection)
        cached = cached_connection(connection, self.box) if connection is not None else None
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[connection_id] = (now + self.ttl, cached)
        return cached

    def forget(self, connection_id: str) -> None:
        self._entries.pop(connection_id, None)


def _is_uuid(value: str) -> bool:
    if len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def connection_info(connection: Connection) -> ConnectionInfo:
    return ConnectionInfo(
        id=connection.id,
        brand_id=connection.brand_id,
        platform=connection.platform,
        default_lang=connection.default_lang,
    )
