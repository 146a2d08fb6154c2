"""Test infrastructure: the real Kafka broker and PostgreSQL that `make test` starts.

`make test` exports SOCIALCARE_KAFKA_BOOTSTRAP and SOCIALCARE_TEST_DATABASE_URL. Run on its own,
pytest starts a throwaway broker and cluster itself, so integration tests never skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack

import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import settings
from sqlalchemy.ext.asyncio import AsyncEngine

from scripts.infra import create_database, free_port, running_infra
from shared.db import create_engine

# Fuzz tests explore new inputs on developers' machines; CI replays a fixed sequence so a merge
# is judged on the change, not on the draw (a failure found locally is kept in .hypothesis/).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def infra_env() -> Iterator[dict[str, str]]:
    wanted = {
        "SOCIALCARE_KAFKA_BOOTSTRAP": os.environ.get("SOCIALCARE_KAFKA_BOOTSTRAP"),
        "SOCIALCARE_TEST_DATABASE_URL": os.environ.get("SOCIALCARE_TEST_DATABASE_URL"),
    }
    with ExitStack() as stack:
        if not all(wanted.values()):
            started = stack.enter_context(
                running_infra(
                    f"pytest-{os.getpid()}",
                    kafka=not wanted["SOCIALCARE_KAFKA_BOOTSTRAP"],
                    postgres=not wanted["SOCIALCARE_TEST_DATABASE_URL"],
                )
            )
            wanted.update(started)
        yield {key: value for key, value in wanted.items() if value}


@pytest.fixture(scope="session")
def kafka_bootstrap(infra_env: dict[str, str]) -> str:
    return infra_env["SOCIALCARE_KAFKA_BOOTSTRAP"]


@pytest.fixture(scope="session")
def postgres_url(infra_env: dict[str, str]) -> str:
    return infra_env["SOCIALCARE_TEST_DATABASE_URL"]


@pytest.fixture
async def fresh_database(postgres_url: str) -> str:
    return await create_database(postgres_url)


@pytest.fixture
async def pg_engine(fresh_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(fresh_database, schema="public")
    yield engine
    await engine.dispose()


@contextlib.asynccontextmanager
async def serve(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """Run an app under uvicorn on a free loopback port (real HTTP); yield its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(600):
            if server.started:
                break
            if task.done():
                task.result()
                raise RuntimeError("server exited during start-up")
            await asyncio.sleep(0.05)
        else:
            raise TimeoutError("server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
