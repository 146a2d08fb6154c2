"""PostgreSQL going away under a running service: sessions the server ended are replaced before
use, and the errors of a shutting-down server count as infrastructure, not as the event's fault.

`pg_terminate_backend` ends a session exactly as a restart or a fast shutdown does (the server
sends FATAL 57P01 and closes the socket), without stopping the cluster the suite shares.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from scripts.infra import PostgresCluster, free_port, postgres_bin
from shared.bus.consumer import is_infrastructure_failure
from shared.db import create_engine

pytestmark = pytest.mark.integration


async def _terminate(database_url: str, pid: int) -> None:
    admin = create_engine(database_url, schema="public", isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


async def test_the_first_query_after_the_server_ended_a_pooled_session_succeeds(
    fresh_database: str,
) -> None:
    engine = create_engine(fresh_database, schema="public", pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        await _terminate(fresh_database, pid)
        await asyncio.sleep(0.2)  # the pooled socket sees the server's goodbye
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
            assert await connection.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await engine.dispose()


async def test_a_connection_idle_for_long_is_pinged_before_use(fresh_database: str) -> None:
    """The ping runs inside the pool's checkout (SQLAlchemy's async bridge): it must work, and a
    session ended while idle is replaced through it as well."""
    engine = create_engine(
        fresh_database, schema="public", pool_size=1, max_overflow=0, ping_after_idle_seconds=0
    )
    try:
        async with engine.connect() as connection:
            pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        async with engine.connect() as connection:  # pinged, alive: the same session
            assert await connection.scalar(text("SELECT pg_backend_pid()")) == pid
        await _terminate(fresh_database, pid)
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await engine.dispose()


async def test_a_server_shutting_down_is_an_infrastructure_failure() -> None:
    """A cluster of its own in a smart shutdown (waiting for its last session): a new
    connection hears "the database system is shutting down" (57P03), which a worker must wait
    out rather than count towards an event's dead-letter budget."""
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="socialcare-shutdown-pg-")), free_port())
    await asyncio.to_thread(cluster.start)
    engine = create_engine(cluster.url, schema="public")
    try:
        async with engine.connect() as last_session:
            await last_session.execute(text("SELECT 1"))
            await asyncio.to_thread(
                cluster._run_as_owner,
                [
                    str(postgres_bin() / "pg_ctl"),
                    "-D",
                    str(cluster.directory / "data"),
                    "-m",
                    "smart",
                    "-W",
                    "stop",
                ],
                stdout=subprocess.DEVNULL,
            )
            await asyncio.sleep(0.5)
            fresh = create_engine(cluster.url, schema="public")
            try:
                with pytest.raises(DBAPIError) as caught:
                    async with fresh.connect() as connection:
                        await connection.execute(text("SELECT 1"))
            finally:
                await fresh.dispose()
        assert "shutting down" in str(caught.value)
        assert is_infrastructure_failure(caught.value)
    finally:
        await engine.dispose()
        await asyncio.to_thread(cluster.stop)
        shutil.rmtree(cluster.directory, ignore_errors=True)


def test_a_statement_error_stays_the_events_fault() -> None:
    """Retried, then dead-lettered: the statement, not the server, is wrong."""
    unique = asyncpg.exceptions.UniqueViolationError("duplicate key value")
    assert not is_infrastructure_failure(DBAPIError("INSERT", None, unique))
    assert is_infrastructure_failure(
        DBAPIError(
            "SELECT",
            None,
            asyncpg.exceptions.AdminShutdownError(
                "terminating connection due to administrator command"
            ),
        )
    )
