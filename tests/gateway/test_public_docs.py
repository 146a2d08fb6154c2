"""The public API description as an integrator meets it: the aggregated `/openapi.json` of every
service behind a real gateway, a client generated from it, and `/docs` in a real browser."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright
from pydantic import SecretStr

from scripts.infra import chromium_bin
from services.gateway.main import create_app as create_gateway
from shared.docs import SWAGGER_UI, SWAGGER_UI_ASSETS, SWAGGER_UI_VERSION
from tests.conftest import serve
from tests.fixtures.services import gateway_settings, migrated_database

pytestmark = pytest.mark.integration

SECRET = "docs-test-internal-secret"
ADMIN_KEY = "sc_test_docs_admin_key_0123456789abcdefghijklmnopqrstuvwxyz"
SERVICES = ("ingest", "routing", "guidelines", "kpi", "webhooks")
SETTINGS = {
    "ingest": "IngestSettings",
    "routing": "RoutingSettings",
    "guidelines": "GuidelinesSettings",
    "kpi": "KpiSettings",
    "webhooks": "WebhooksSettings",
}
WRITE_METHODS = ("post", "put", "patch")
SWAGGER_UI_PATH = f"/docs/assets/{SWAGGER_UI_VERSION}"
CLIENT_CONFIG = Path(__file__).resolve().parents[2] / "scripts" / "openapi-python-client.yaml"


@dataclass
class PublicApi:
    gateway: str
    client: httpx.AsyncClient
    document: dict[str, Any]


@pytest.fixture(scope="module")
async def api(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[PublicApi]:
    urls: dict[str, str] = {}
    async with contextlib.AsyncExitStack() as stack:
        for service in SERVICES:
            database = await migrated_database(postgres_url, service)
            settings_class = getattr(
                importlib.import_module(f"services.{service}.config"), SETTINGS[service]
            )
            app = importlib.import_module(f"services.{service}.main").create_app(
                settings_class(
                    database_url=database,
                    kafka_bootstrap=kafka_bootstrap,
                    internal_secret=SecretStr(SECRET),
                    consumers_enabled=False,
                )
            )
            urls[service] = await stack.enter_async_context(serve(app))
        database = await migrated_database(postgres_url, "gateway")
        gateway = create_gateway(
            gateway_settings(
                database,
                internal_secret=SecretStr(SECRET),
                admin_key=SecretStr(ADMIN_KEY),
                **{f"{service}_url": url for service, url in urls.items()},
            )
        )
        gateway_url = await stack.enter_async_context(serve(gateway))
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        response = await client.get(f"{gateway_url}/openapi.json")
        assert response.status_code == 200
        yield PublicApi(gateway_url, client, response.json())


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def resolve_ref(document: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    assert isinstance(node, dict), ref
    return node


async def test_every_service_is_in_the_document(api: PublicApi) -> None:
    assert "x-unavailable-services" not in api.document["info"]
    for prefix in ("/v1/api-keys", "/v1/connections", "/v1/interactions", "/v1/guidelines/check"):
        assert prefix in api.document["paths"], prefix


async def test_every_operation_has_a_short_unique_id(api: PublicApi) -> None:
    ids = [operation.get("operationId", "") for _m, _p, operation in operations(api.document)]
    assert len(ids) == len(set(ids)), sorted(ids)
    for operation_id in ids:
        # Function names of a generated client: `create_api_key`, not FastAPI's default
        # `create_api_key_v1_api_keys_post`.
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+){0,4}", operation_id), operation_id
        assert "_v1_" not in operation_id
    assert "create_api_key" in ids
    assert "check_reply" in ids
    assert "import_guideline" in ids


async def test_every_write_operation_documents_its_body_with_an_example(api: PublicApi) -> None:
    missing = []
    for method, path, operation in operations(api.document):
        if method not in WRITE_METHODS:
            continue
        content = operation.get("requestBody", {}).get("content", {})
        # A POST may be a bodiless action (`.../ping`, `.../retry`); a PUT or PATCH never is.
        if not content and method != "post":
            missing.append(f"{method} {path}: no request body")
        for media_type, media in content.items():
            schema = media.get("schema", {})
            if "$ref" in schema:
                schema = resolve_ref(api.document, schema["$ref"])
            if not (media.get("example") or media.get("examples") or schema.get("examples")):
                missing.append(f"{method} {path} {media_type}: no example")
    assert missing == []


async def test_every_reference_resolves(api: PublicApi) -> None:
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [ref for value in node.values() for ref in refs(value)]
        if isinstance(node, list):
            return [ref for value in node for ref in refs(value)]
        return []

    for ref in refs(api.document):
        resolve_ref(api.document, ref)


async def test_guideline_import_documents_json_and_yaml(api: PublicApi) -> None:
    body = api.document["paths"]["/v1/guidelines/{brand_id}/import"]["put"]["requestBody"]
    assert set(body["content"]) == {"application/json", "application/yaml"}
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/GuidelineConfig"
    }


async def test_a_generated_client_has_no_warnings_imports_and_calls_the_api(
    api: PublicApi, tmp_path: Path
) -> None:
    spec = tmp_path / "openapi.json"
    spec.write_bytes((await api.client.get(f"{api.gateway}/openapi.json")).content)
    binaries = Path(sys.executable).parent  # ruff, which the generator runs, lives here too
    generated = await asyncio.to_thread(
        subprocess.run,
        [
            str(binaries / "openapi-python-client"),
            "generate",
            "--path",
            str(spec),
            "--config",
            str(CLIENT_CONFIG),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "socialcare_client"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{binaries}{os.pathsep}{os.environ.get('PATH', '')}"},
        timeout=240,
    )
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    assert "warning" not in output.lower(), output
    assert "error" not in output.lower(), output
    script = """
import io
import sys
from socialcare_client import AuthenticatedClient
from socialcare_client.api.api_keys import create_api_key, list_api_keys
from socialcare_client.api.guidelines import check_reply, import_guideline, list_rule_packs
from socialcare_client.models import GuidelineConfig
from socialcare_client.types import File
client = AuthenticatedClient(base_url=sys.argv[1], token=sys.argv[2])
print("packs", sorted(pack.id for pack in list_rule_packs.sync(client=client)))
as_json = GuidelineConfig.from_dict({"formality": "usted", "competitors": [{"name": "Globex"}]})
print("json", import_guideline.sync("docs-brand", client=client, body=as_json).version)
as_yaml = File(payload=io.BytesIO(b"formality: tu\\n"), mime_type="application/yaml")
print("yaml", import_guideline.sync("docs-brand", client=client, body=as_yaml).config.formality)
"""
    called = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", script, api.gateway, ADMIN_KEY],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert called.returncode == 0, called.stdout + called.stderr
    lines = called.stdout.splitlines()
    assert "standards" in lines[0]
    assert lines[1:] == ["json 1", "yaml tu"]


async def test_docs_assets_are_served_by_the_gateway(api: PublicApi) -> None:
    page = await api.client.get(f"{api.gateway}/docs")
    assert page.status_code == 200
    # Nothing from outside: every script, style and icon is the gateway's own.
    assert re.findall(r"""(?:src|href)=["']?(https?:)?//""", page.text) == []
    for name, media_type in SWAGGER_UI_ASSETS.items():
        assert f"{SWAGGER_UI_PATH}/{name}" in page.text
        served = await api.client.get(f"{api.gateway}{SWAGGER_UI_PATH}/{name}")
        assert served.status_code == 200
        assert served.headers["content-type"] == media_type
        assert served.content == (SWAGGER_UI / name).read_bytes()
    for wrong in (f"{SWAGGER_UI_PATH}/LICENSE", "/docs/assets/0.0.1/swagger-ui.css"):
        response = await api.client.get(f"{api.gateway}{wrong}")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_docs_render_every_operation_in_headless_chromium(api: PublicApi) -> None:
    blocked: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium_bin()), args=["--no-sandbox"], headless=True
        )
        try:
            page = await browser.new_page()

            async def air_gap(route: Any) -> None:
                # As in a deployment that reaches no CDN: only the gateway answers.
                if route.request.url.startswith(api.gateway):
                    await route.continue_()
                else:
                    blocked.append(route.request.url)
                    await route.abort()

            await page.route("**/*", air_gap)
            await page.goto(f"{api.gateway}/docs")
            await page.wait_for_selector(".opblock", timeout=30_000)
            rendered = await page.locator(".opblock").count()
            title = await page.locator(".info .title").inner_text()
            summaries = await page.locator(".opblock-summary-description").all_inner_texts()
        finally:
            await browser.close()
    assert blocked == []
    assert rendered == len(operations(api.document))
    assert title.startswith("socialcare")
    assert "Issue an API key" in summaries
