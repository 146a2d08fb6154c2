"""Bad input to ingest over real HTTP (PostgreSQL, Kafka): always a 4xx problem+json, and
nothing stored or published as it came."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from services.ingest.config import IngestSettings
from services.ingest.main import create_app
from shared.auth import Principal, PrincipalAuth
from tests.conftest import serve
from tests.fixtures.services import migrated_database

pytestmark = pytest.mark.integration

SECRET = "ingest-bad-input-internal-secret"


WRITER = PrincipalAuth(
    Principal(
        key_id="bad-input", scopes=frozenset({"ingest:write", "interactions:read", "team:write"})
    ),
    SECRET,
    "ingest",
)


@dataclass
class Ingest:
    url: str
    client: httpx.AsyncClient

    async def intake(self, body: bytes) -> httpx.Response:
        return await self.client.post(
            f"{self.url}/v1/interactions",
            content=body,
            headers={"Content-Type": "application/json"},
            auth=WRITER,
        )


@pytest.fixture(scope="module")
async def ingest(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Ingest]:
    database = await migrated_database(postgres_url, "ingest")
    app = create_app(
        IngestSettings(
            database_url=database,
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=SecretStr(SECRET),
        )
    )
    async with serve(app) as url, httpx.AsyncClient(timeout=60) as client:
        yield Ingest(url, client)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def item(**changes: Any) -> dict[str, Any]:
    return {
        "brand_id": "acme",
        "channel": "google_reviews",
        "kind": "review",
        "external_id": "bad-input-1",
        "text": "El pedido llegó roto.",
        "created_at": "2026-11-20T10:15:00Z",
        **changes,
    }


async def test_deeply_nested_json_is_400(ingest: Ingest) -> None:
    body = b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert problem(await ingest.intake(body), 400)["field"] == "body"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"text": "hola\u0000"}, "text"),
        ({"external_id": "id\u0000"}, "external_id"),
        ({"author": {"display_name": "Lu\u0000"}}, "author"),
        ({"metrics": {"likes": 10**36}}, "metrics"),
        ({"author": {"followers": 2**63}}, "author"),
        ({"created_at": "0001-01-01T00:00:00Z"}, "created_at"),
        ({"created_at": "9999-12-31T00:00:00Z"}, "created_at"),
    ],
)
async def test_unstorable_items_are_rejected_not_published(
    ingest: Ingest, changes: dict[str, Any], field: str
) -> None:
    response = await ingest.intake(json.dumps({"items": [item(**changes)]}).encode())
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["rejected"]) == (0, 1)
    assert field in json.dumps(result["items"][0]["errors"])


async def test_lone_surrogate_in_an_item_is_rejected(ingest: Ingest) -> None:
    # json.dumps escapes it as \ud800, as a client's JSON would carry it.
    response = await ingest.intake(json.dumps({"items": [item(text="a\ud800b")]}).encode())
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == 1


async def test_naive_or_odd_search_positions_are_4xx(ingest: Ingest) -> None:
    url = f"{ingest.url}/v1/interactions"
    naive = await ingest.client.get(url, params={"since": "2026-11-20T10:15:00"}, auth=WRITER)
    problem(naive, 422)
    for raw in ("2026-11-20T10:15:00|abc", "2026-11-20T10:15:00+00:00|a\u0000b"):
        cursor = base64.urlsafe_b64encode(raw.encode()).decode()
        response = await ingest.client.get(url, params={"cursor": cursor}, auth=WRITER)
        assert problem(response, 400)["field"] == "cursor"


@pytest.mark.parametrize(
    "target",
    [
        "/v1/interactions/abc%00def",
        "/v1/interactions?external_id=a%00b",
        "/v1/interactions?brand_id=%00",
        "/v1/connections/abc%00",
        "/v1/connections?cursor=%00",
    ],
)
async def test_nul_in_path_or_query_is_400(ingest: Ingest, target: str) -> None:
    response = await ingest.client.get(f"{ingest.url}{target}", auth=WRITER)
    problem(response, 400)


async def test_x_connection_with_an_empty_consumer_secret_is_refused(ingest: Ingest) -> None:
    for secret in ("", "   "):
        response = await ingest.client.post(
            f"{ingest.url}/v1/connections",
            json={
                "brand_id": "acme",
                "platform": "x",
                "name": "Acme on X",
                "account_ids": ["123"],
                "secrets": {"consumer_secret": secret},
            },
            auth=WRITER,
        )
        assert "secret may not be empty" in problem(response, 422)["detail"]


async def test_nul_in_connection_fields_is_422(ingest: Ingest) -> None:
    response = await ingest.client.post(
        f"{ingest.url}/v1/connections",
        json={
            "brand_id": "acme",
            "platform": "x",
            "name": "Acme\u0000",
            "account_ids": ["123"],
            "secrets": {"consumer_secret": "s3cret"},
        },
        auth=WRITER,
    )
    problem(response, 422)


async def test_a_body_over_the_limit_is_413_before_it_is_read(ingest: Ingest) -> None:
    body = b'{"items": [' + b" " * (3 * 1024 * 1024) + b"]}"
    problem(await ingest.intake(body), 413)


async def test_errors_are_documented_as_problem_json(ingest: Ingest) -> None:
    document = (await ingest.client.get(f"{ingest.url}/openapi.json")).json()
    for path, item_ in document["paths"].items():
        for method, operation in item_.items():
            responses = operation["responses"]
            assert "400" in responses, (method, path)
            for status, response in responses.items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (
                        method,
                        path,
                        status,
                    )
            if "{" in path:
                assert "404" in responses, (method, path)


async def test_405_lists_every_method_of_the_path(ingest: Ingest) -> None:
    response = await ingest.client.put(f"{ingest.url}/v1/connections/abc", auth=WRITER)
    problem(response, 405)
    assert response.headers["allow"] == "DELETE, GET, HEAD, PATCH"
