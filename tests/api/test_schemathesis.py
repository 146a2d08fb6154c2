"""Schemathesis against the gateway's aggregated OpenAPI, every service running for real.

The gateway, ingest, routing, guidelines, kpi and webhooks run under uvicorn on free ports,
against the PostgreSQL and Kafka of the test run. Schemathesis (its CLI, in a subprocess, so
the servers keep this test's event loop) reads `/openapi.json` from the gateway and sends
generated requests, valid and invalid, with a fixed seed and deterministic generation: the
same cases on every run. Every answer must be no 5xx and match what the document says (status
code, content type, body schema).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from scripts.infra import free_port
from services.gateway.config import GatewaySettings
from services.gateway.main import create_app as create_gateway
from services.guidelines.config import GuidelinesSettings
from services.guidelines.main import create_app as create_guidelines
from services.ingest.config import IngestSettings
from services.ingest.main import create_app as create_ingest
from services.kpi.config import KpiSettings
from services.kpi.main import create_app as create_kpi
from services.routing.config import RoutingSettings
from services.routing.main import create_app as create_routing
from services.webhooks.config import WebhooksSettings
from services.webhooks.main import create_app as create_webhooks
from tests.conftest import serve
from tests.fixtures.services import migrated_database

pytestmark = pytest.mark.integration

SECRET = "schemathesis-internal-secret"
ADMIN_KEY = "sc_test_admin_key_schemathesis_0123456789abcdefghijklmnop"
ROOT = Path(__file__).resolve().parents[2]
# Cases per operation. ~30 operations: a few hundred to about a thousand requests in all.
MAX_EXAMPLES = int(os.environ.get("SOCIALCARE_SCHEMATHESIS_EXAMPLES", "20"))
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)


@contextlib.asynccontextmanager
async def running_suite(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[str]:
    secret = SecretStr(SECRET)
    services: dict[str, FastAPI] = {}
    builders = {
        "ingest": (IngestSettings, create_ingest),
        "routing": (RoutingSettings, create_routing),
        "guidelines": (GuidelinesSettings, create_guidelines),
        "kpi": (KpiSettings, create_kpi),
        "webhooks": (WebhooksSettings, create_webhooks),
    }
    databases = {}
    for name in ("gateway", *builders):
        databases[name] = await migrated_database(postgres_url, name)
    ports = {name: free_port() for name in builders}
    # Routing checks canned replies with the guidelines service of the suite.
    extra: dict[str, dict[str, Any]] = {
        "routing": {"guidelines_url": f"http://127.0.0.1:{ports['guidelines']}"}
    }
    for name, (settings_class, create) in builders.items():
        settings = settings_class(
            database_url=databases[name],
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=secret,
            **extra.get(name, {}),
        )
        services[name] = create(settings)  # type: ignore[operator]
    async with contextlib.AsyncExitStack() as stack:
        urls = {
            name: await stack.enter_async_context(serve(app, port=ports[name]))
            for name, app in services.items()
        }
        gateway = create_gateway(
            GatewaySettings(
                database_url=databases["gateway"],
                internal_secret=secret,
                admin_key=SecretStr(ADMIN_KEY),
                ingest_url=urls["ingest"],
                routing_url=urls["routing"],
                guidelines_url=urls["guidelines"],
                kpi_url=urls["kpi"],
                webhooks_url=urls["webhooks"],
                default_rate_limit_per_minute=1_000_000,
            )
        )
        yield await stack.enter_async_context(serve(gateway))


async def seed(gateway: str) -> None:
    """A published guideline, so checks and exports reach the engine rather than a 404."""
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=gateway, headers=headers, timeout=30) as client:
        published = await client.put(
            "/v1/guidelines/acme", json={"formality": "usted", "competitors": [{"name": "Globex"}]}
        )
        assert published.status_code == 201, published.text
        document = (await client.get("/openapi.json")).json()
        assert "x-unavailable-services" not in document["info"], document["info"]


# About a minute on an idle machine; over ten minutes when the machine is shared (2 cores).
@pytest.mark.timeout(1800)
async def test_no_5xx_and_every_answer_as_documented(
    postgres_url: str, kafka_bootstrap: str
) -> None:
    async with running_suite(postgres_url, kafka_bootstrap) as gateway:
        await seed(gateway)
        command = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{gateway}/openapi.json",
            "--checks",
            CHECKS,
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "20261201",
            "--generation-deterministic",
            "--phases",
            "examples,coverage,fuzzing",
            "--workers",
            "2",
            "--request-timeout",
            "30",
            "--suppress-health-check",
            "all",
            "--no-color",
            "--continue-on-failure",
            "-H",
            f"Authorization: Bearer {ADMIN_KEY}",
        ]
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=1500)
    report = output.decode("utf-8", "replace")
    # The run's summary (operations, phases, cases) in the captured output (`pytest -rP`).
    sys.stdout.write(report[report.find("SUMMARY") - 40 :] if "SUMMARY" in report else report)
    assert process.returncode == 0, report[-20000:]
