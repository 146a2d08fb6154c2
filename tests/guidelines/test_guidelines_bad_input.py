"""Bad input to guidelines over real HTTP (PostgreSQL, Kafka): a 4xx problem+json, refused
before anything is recorded; body and batch limits."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from services.guidelines.config import GuidelinesSettings
from services.guidelines.main import create_app
from shared.auth import (
    PRINCIPAL_HEADER,
    Principal,
    PrincipalAuth,
    RequestBinding,
    encode_principal,
)
from shared.db import create_engine
from tests.conftest import serve
from tests.fixtures.services import migrated_database

pytestmark = pytest.mark.integration

SECRET = "guidelines-bad-input-internal-secret"
EDITOR = Principal(key_id="editor", scopes=frozenset({"guidelines:write", "guidelines:read"}))
AUTH = PrincipalAuth(EDITOR, SECRET, "guidelines")


def signed_for(method: str, path: str, body: bytes) -> dict[str, str]:
    """The principal header for a body sent as a stream (httpx's auth would buffer it)."""
    binding = RequestBinding.of("guidelines", method, path, b"", body)
    return {PRINCIPAL_HEADER: encode_principal(EDITOR, SECRET, binding)}


@dataclass
class Guidelines:
    url: str
    client: httpx.AsyncClient
    database: str

    async def post_json(self, path: str, body: bytes) -> httpx.Response:
        return await self.client.post(
            f"{self.url}{path}",
            content=body,
            headers={"Content-Type": "application/json"},
            auth=AUTH,
        )

    async def checks_recorded(self, brand: str) -> int:
        engine = create_engine(self.database, schema="guidelines")
        try:
            async with engine.connect() as connection:
                count = await connection.scalar(
                    text("SELECT count(*) FROM guidelines.checks WHERE brand_id = :brand"),
                    {"brand": brand},
                )
        finally:
            await engine.dispose()
        return int(count or 0)


@pytest.fixture(scope="module")
async def guidelines(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Guidelines]:
    database = await migrated_database(postgres_url, "guidelines")
    app = create_app(
        GuidelinesSettings(
            database_url=database,
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=SecretStr(SECRET),
            max_batch_text_bytes=64 * 1024,
        )
    )
    async with serve(app) as url, httpx.AsyncClient(timeout=60) as client:
        yield Guidelines(url, client, database)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def published_brand(guidelines: Guidelines) -> str:
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    response = await guidelines.client.put(
        f"{guidelines.url}/v1/guidelines/{brand}", json={"formality": "usted"}, auth=AUTH
    )
    assert response.status_code == 201, response.text
    return brand


async def test_versions_past_postgresql_integers_are_422(guidelines: Guidelines) -> None:
    brand = await published_brand(guidelines)
    base = f"{guidelines.url}/v1/guidelines/{brand}/versions"
    problem(await guidelines.client.get(f"{base}/{2**31}", auth=AUTH), 422)
    problem(await guidelines.client.get(f"{base}/{10**30}", auth=AUTH), 422)
    problem(await guidelines.client.get(base, params={"cursor": 2**31}, auth=AUTH), 422)
    assert (await guidelines.client.get(f"{base}/{2**31 - 1}", auth=AUTH)).status_code == 404


async def test_control_character_in_custom_rules_is_422(guidelines: Guidelines) -> None:
    response = await guidelines.client.put(
        f"{guidelines.url}/v1/guidelines/acme-yaml",
        json={"custom_rules": "id: custom\nrules:\n  - id: a\x01b\n"},
        auth=AUTH,
    )
    assert "invalid YAML" in problem(response, 422)["detail"]


@pytest.mark.parametrize("bad", ["hola \ud800 mundo", "hola \u0000 mundo"])
async def test_unstorable_check_text_is_refused_before_it_is_recorded(
    guidelines: Guidelines, bad: str
) -> None:
    brand = await published_brand(guidelines)
    single = json.dumps({"brand_id": brand, "text": bad}).encode()
    problem(await guidelines.post_json("/v1/guidelines/check", single), 422)
    batch = json.dumps({"brand_id": brand, "items": [{"text": "ok"}, {"text": bad}]}).encode()
    problem(await guidelines.post_json("/v1/guidelines/check/batch", batch), 422)
    assert await guidelines.checks_recorded(brand) == 0
    fine = json.dumps({"brand_id": brand, "text": "Gracias por escribirnos."}).encode()
    assert (await guidelines.post_json("/v1/guidelines/check", fine)).status_code == 200
    assert await guidelines.checks_recorded(brand) == 1


async def test_batch_totals_are_capped_413(guidelines: Guidelines) -> None:
    brand = await published_brand(guidelines)
    # 3 texts of 30 KB: each under the 64 KiB text limit, together over the batch total.
    items = [{"text": "palabra " * 3750} for _ in range(3)]
    body = json.dumps({"brand_id": brand, "items": items}).encode()
    assert (
        "together"
        in problem(await guidelines.post_json("/v1/guidelines/check/batch", body), 413)["detail"]
    )
    assert await guidelines.checks_recorded(brand) == 0


async def test_a_large_body_is_413_without_being_parsed(guidelines: Guidelines) -> None:
    body = b'{"brand_id": "acme", "items": [' + b" " * (3 * 1024 * 1024) + b"]}"
    problem(await guidelines.post_json("/v1/guidelines/check/batch", body), 413)

    parts = [b'{"brand_id": "acme", "text": "', *([b"a" * 65536] * 40), b'"}']

    async def chunks() -> AsyncIterator[bytes]:
        # Streamed without a Content-Length: counted as it arrives.
        for part in parts:
            yield part

    response = await guidelines.client.post(
        f"{guidelines.url}/v1/guidelines/check",
        content=chunks(),
        headers={
            **signed_for("POST", "/v1/guidelines/check", b"".join(parts)),
            "Content-Type": "application/json",
        },
    )
    problem(response, 413)


async def test_yaml_import_over_its_limit_is_413(guidelines: Guidelines) -> None:
    parts = [b"# " + b"x" * 65534] * 20

    async def chunks() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    response = await guidelines.client.put(
        f"{guidelines.url}/v1/guidelines/acme/import",
        content=chunks(),
        headers={
            **signed_for("PUT", "/v1/guidelines/acme/import", b"".join(parts)),
            "Content-Type": "application/yaml",
        },
    )
    problem(response, 413)


async def test_export_is_documented_as_yaml_and_errors_as_problem_json(
    guidelines: Guidelines,
) -> None:
    document = (await guidelines.client.get(f"{guidelines.url}/openapi.json")).json()
    export = document["paths"]["/v1/guidelines/{brand_id}/export"]["get"]["responses"]["200"]
    assert list(export["content"]) == ["application/yaml"]
    check = document["paths"]["/v1/guidelines/check"]["post"]["responses"]
    assert list(check["422"]["content"]) == ["application/problem+json"]
    assert {"400", "413"} <= set(check)
    brand = await published_brand(guidelines)
    response = await guidelines.client.get(
        f"{guidelines.url}/v1/guidelines/{brand}/export", auth=AUTH
    )
    assert response.headers["content-type"].startswith("application/yaml")


async def test_405_lists_every_method_of_the_path(guidelines: Guidelines) -> None:
    response = await guidelines.client.delete(f"{guidelines.url}/v1/guidelines/acme", auth=AUTH)
    problem(response, 405)
    assert response.headers["allow"] == "GET, HEAD, PUT"
