"""`/docs` of every service, not only the gateway's: Swagger UI from the project's own pinned
files, nothing from a CDN, and a service's page rendered in a real browser that reaches
nothing else."""

from __future__ import annotations

import hashlib
import importlib
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import async_playwright
from pydantic import SecretStr

from scripts.infra import chromium_bin
from services.guidelines.config import GuidelinesSettings
from services.guidelines.main import create_app as create_guidelines
from shared.docs import SWAGGER_UI, SWAGGER_UI_ASSETS, SWAGGER_UI_VERSION
from tests.conftest import serve
from tests.fixtures.services import migrated_database

ASSETS = f"/docs/assets/{SWAGGER_UI_VERSION}"
SERVICES = {
    "gateway": "GatewaySettings",
    "ingest": "IngestSettings",
    "routing": "RoutingSettings",
    "guidelines": "GuidelinesSettings",
    "kpi": "KpiSettings",
    "webhooks": "WebhooksSettings",
}


def service_app(service: str) -> FastAPI:
    settings = getattr(importlib.import_module(f"services.{service}.config"), SERVICES[service])
    app: FastAPI = importlib.import_module(f"services.{service}.main").create_app(settings())
    return app


def test_swagger_ui_files_match_their_pinned_checksums() -> None:
    pinned = {}
    for line in (SWAGGER_UI / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        pinned[name] = digest
    assert set(SWAGGER_UI_ASSETS) <= set(pinned)
    for name, digest in pinned.items():
        assert hashlib.sha256((SWAGGER_UI / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_every_service_serves_docs_from_its_own_assets(service: str) -> None:
    transport = httpx.ASGITransport(app=service_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        page = await client.get("/docs")
        assert page.status_code == 200
        # Nothing from outside: every script, style and icon is the service's own.
        assert re.findall(r"""(?:src|href)=["']?(https?:)?//""", page.text) == []
        assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
        for name, media_type in SWAGGER_UI_ASSETS.items():
            assert f"{ASSETS}/{name}" in page.text
            served = await client.get(f"{ASSETS}/{name}")
            assert served.status_code == 200
            assert served.headers["content-type"] == media_type
            assert "immutable" in served.headers["cache-control"]
            assert served.content == (SWAGGER_UI / name).read_bytes()
        for wrong in (
            f"{ASSETS}/LICENSE",
            f"{ASSETS}/../VERSION",
            "/docs/assets/0.0.1/swagger-ui.css",
        ):
            response = await client.get(wrong)
            assert response.status_code == 404, wrong
            assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.integration
async def test_a_service_docs_page_renders_every_operation_in_headless_chromium(
    postgres_url: str, kafka_bootstrap: str
) -> None:
    settings = GuidelinesSettings(
        database_url=await migrated_database(postgres_url, "guidelines"),
        kafka_bootstrap=kafka_bootstrap,
        internal_secret=SecretStr("docs-test-internal-secret"),
        consumers_enabled=False,
    )
    blocked: list[str] = []
    async with serve(create_guidelines(settings)) as url, httpx.AsyncClient() as client:
        document = (await client.get(f"{url}/openapi.json")).json()
        expected = sum(
            method in ("get", "post", "put", "patch", "delete")
            for item in document["paths"].values()
            for method in item
        )
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(chromium_bin()), args=["--no-sandbox"], headless=True
            )
            try:
                page = await browser.new_page()

                async def air_gap(route: Any) -> None:
                    # As in a deployment that reaches no CDN: only the service answers.
                    if route.request.url.startswith(url):
                        await route.continue_()
                    else:
                        blocked.append(route.request.url)
                        await route.abort()

                await page.route("**/*", air_gap)
                await page.goto(f"{url}/docs")
                await page.wait_for_selector(".opblock", timeout=30_000)
                rendered = await page.locator(".opblock").count()
                title = await page.locator(".info .title").inner_text()
            finally:
                await browser.close()
    assert blocked == []
    assert expected > 0
    assert rendered == expected
    assert title.startswith(document["info"]["title"])
