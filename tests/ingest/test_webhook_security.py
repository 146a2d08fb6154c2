"""The platform webhook routes as an attacker meets them: the X CRC route must never sign a body
of the caller's choice, unsigned requests cost no body read, signature failures do not ask for
an API key. Real HTTP, PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from services.ingest.config import IngestSettings
from services.ingest.main import create_app
from services.ingest.platforms.signatures import x_crc_response_token, x_signature
from shared.auth import Principal, PrincipalAuth
from tests.conftest import serve
from tests.fixtures.services import migrated_database

pytestmark = pytest.mark.integration

SECRET = "webhook-security-internal-secret"
X_SECRET = "x-consumer-secret-of-the-webhook-security-tests"
CRC_LIMIT = 5


@dataclass
class Ingest:
    url: str
    client: httpx.AsyncClient

    async def x_connection(self) -> str:
        principal = Principal(key_id="key-team", scopes=frozenset({"team:write"}))
        response = await self.client.post(
            f"{self.url}/v1/connections",
            json={
                "brand_id": f"brand-{uuid.uuid4().hex[:8]}",
                "platform": "x",
                "name": "on X",
                "account_ids": ["2244994945"],
                "secrets": {"consumer_secret": X_SECRET},
            },
            auth=PrincipalAuth(principal, SECRET, "ingest"),
        )
        assert response.status_code == 201, response.text
        connection_id: str = response.json()["id"]
        return connection_id

    async def crc(self, connection_id: str, **params: str) -> httpx.Response:
        return await self.client.get(f"{self.url}/v1/webhooks/x/{connection_id}", params=params)


@pytest.fixture(scope="module")
async def ingest(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Ingest]:
    database = await migrated_database(postgres_url, "ingest")
    app = create_app(
        IngestSettings(
            database_url=database,
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=SecretStr(SECRET),
            crc_limit_per_minute=CRC_LIMIT,
        )
    )
    async with serve(app) as url, httpx.AsyncClient(timeout=30) as client:
        yield Ingest(url, client)


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


FORGED_BODIES = [
    json.dumps({"for_user_id": "2244994945", "tweet_create_events": [{"id_str": "1"}]}),
    '{"for_user_id":"2244994945"}',
    ' {"for_user_id":"2244994945"}',
    "\n{}",
    "[{}]",
    '"text"',
    "12345",
    "true",
    "null",
]


@pytest.mark.parametrize("body", FORGED_BODIES)
async def test_the_crc_route_never_yields_a_signature_the_webhook_accepts(
    ingest: Ingest, body: str
) -> None:
    connection_id = await ingest.x_connection()
    crc = await ingest.crc(connection_id, crc_token=body)
    if crc.status_code == 200:
        # A token of X's shape was answered: it must not be a body the webhook takes.
        signature = crc.json()["response_token"]
        forged = await ingest.client.post(
            f"{ingest.url}/v1/webhooks/x/{connection_id}",
            content=body.encode(),
            headers={
                "Content-Type": "application/json",
                "x-twitter-webhooks-signature": signature,
            },
        )
        assert forged.status_code == 400, forged.text
    else:
        problem = assert_problem(crc, 400)
        assert problem["field"] == "crc_token"


async def test_tokens_of_the_shape_x_sends_are_answered(ingest: Ingest) -> None:
    connection_id = await ingest.x_connection()
    for token in ("9b4507b3-9040-4669-9ca3-6b94edb50553", "MjAxOS0wMS0wMVQxMDo0NjoxNi43OTla"):
        crc = await ingest.crc(connection_id, crc_token=token)
        assert crc.status_code == 200, crc.text
        assert crc.json() == {"response_token": x_crc_response_token(token, X_SECRET)}


async def test_crc_without_a_token_is_400_as_documented(ingest: Ingest) -> None:
    connection_id = await ingest.x_connection()
    for params in ({}, {"crc_token": ""}, {"crc_token": "a" * 257}, {"crc_token": "a b"}):
        problem = assert_problem(await ingest.crc(connection_id, **params), 400)
        assert problem["field"] == "crc_token"
    document = (await ingest.client.get(f"{ingest.url}/openapi.json")).json()
    assert "400" in document["paths"]["/v1/webhooks/x/{connection_id}"]["get"]["responses"]


async def test_crc_checks_are_limited_per_connection(ingest: Ingest) -> None:
    limited = await ingest.x_connection()
    other = await ingest.x_connection()
    statuses = [
        (await ingest.crc(limited, crc_token=f"token{index}")).status_code
        for index in range(CRC_LIMIT + 1)
    ]
    assert statuses == [200] * CRC_LIMIT + [429]
    assert (await ingest.crc(other, crc_token="token0")).status_code == 200


async def test_a_signature_failure_does_not_ask_for_an_api_key(ingest: Ingest) -> None:
    connection_id = await ingest.x_connection()
    body = b'{"for_user_id": "2244994945"}'
    for headers in ({}, {"x-twitter-webhooks-signature": x_signature(body, "wrong-secret")}):
        response = await ingest.client.post(
            f"{ingest.url}/v1/webhooks/x/{connection_id}",
            content=body,
            headers={"Content-Type": "application/json", **headers},
        )
        assert_problem(response, 401)
        assert "www-authenticate" not in response.headers


async def test_an_unsigned_webhook_is_refused_before_its_body_is_read(ingest: Ingest) -> None:
    connection_id = await ingest.x_connection()
    url = urlsplit(ingest.url)
    assert url.hostname is not None
    assert url.port is not None
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        # A chunked body that never ends: only an answer before reading it can come back.
        writer.write(
            f"POST /v1/webhooks/x/{connection_id} HTTP/1.1\r\nhost: {url.netloc}\r\n"
            "content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
            '10\r\n{"for_user_id": \r\n'.encode()
        )
        await writer.drain()
        async with asyncio.timeout(5):
            status_line = await reader.readline()
    finally:
        writer.close()
    assert status_line.startswith(b"HTTP/1.1 401"), status_line


async def test_unknown_connections_are_404_without_a_signature_check(ingest: Ingest) -> None:
    for connection_id in (str(uuid.uuid4()), "not-a-uuid", "x" * 300):
        response = await ingest.client.post(
            f"{ingest.url}/v1/webhooks/x/{connection_id}",
            content=b"{}",
            headers={"Content-Type": "application/json"},
        )
        assert_problem(response, 404)
        assert_problem(await ingest.crc(connection_id, crc_token="abc"), 404)
