"""Database plumbing: async engines for PostgreSQL or SQLite from one URL, naming convention,
session factories. (The per-request session that owns the transaction is
`shared.dependencies.request_session`.)"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on PostgreSQL and on SQLite (which stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def service_metadata(schema: str) -> MetaData:
    """MetaData for one service's tables, all in that service's own schema."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str, *, schema: str, ping_after_idle_seconds: float = 10.0, **kwargs: Any
) -> AsyncEngine:
    """Engine for PostgreSQL (asyncpg) or SQLite (aiosqlite).

    SQLite has no schemas: the schema name is translated away and each service keeps its own file.
    """
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine.execution_options(schema_translate_map={schema: None})
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_recycle", 1800)
    engine = create_async_engine(url, **kwargs)
    _drop_dead_connections_on_checkout(engine, ping_after_idle_seconds)
    return engine


def _drop_dead_connections_on_checkout(engine: AsyncEngine, ping_after_idle: float) -> None:
    """No pre-ping on every checkout (a round trip on the hot path). Instead, a connection the
    server closed (a PostgreSQL restart or failover terminates every session) is seen as closed
    at no cost and replaced before use, so the first request after a restart does not fail; a
    connection idle for `ping_after_idle` seconds is pinged first (a silently dropped socket).
    SQLAlchemy retries the checkout with a fresh connection on DisconnectionError."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # asyncpg's own connection under SQLAlchemy's adapter knows when the socket closed.
        is_closed = getattr(record.driver_connection, "is_closed", None)
        if is_closed is not None and is_closed():
            raise DisconnectionError("the server closed this connection")
        idle_since = record.info.get("checked_in_at")
        if idle_since is not None and time.monotonic() - idle_since > ping_after_idle:
            try:
                dbapi_connection.ping()
            except Exception as exc:
                raise DisconnectionError("the connection did not answer a ping") from exc

    @event.listens_for(engine.sync_engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def advisory_key(name: str) -> int:
    """The PostgreSQL advisory lock id of a name (a signed 64-bit integer from its SHA-256), so
    every lock and lease of the project is named, not numbered by hand."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def advisory_xact_lock(session: AsyncSession, name: str) -> None:
    """Wait for and hold the transaction advisory lock `name` until the transaction ends, on
    PostgreSQL (SQLite runs one writer at a time: nothing to take)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    await session.execute(select(func.pg_advisory_xact_lock(advisory_key(name))))
