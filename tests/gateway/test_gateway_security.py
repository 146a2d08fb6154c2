"""The gateway as an attacker meets it: raw request targets and headers, floods of webhooks and
bad keys, a service that drops its connections, metrics that must not grow with the input,
and the bootstrap admin key of a fresh deployment. Real HTTP, PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import stat
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from services.gateway.main import create_app as create_gateway
from services.ingest.config import IngestSettings
from services.ingest.main import create_app as create_ingest
from services.ingest.platforms.signatures import x_signature
from tests.conftest import serve
from tests.fixtures.services import gateway_settings, migrated_database
from tests.raw_http import RawResponse, raw_request

pytestmark = pytest.mark.integration

SECRET = "gateway-security-internal-secret"
ADMIN_KEY = "sc_security_admin_key_0123456789abcdefghijklmnopqrstuvwxyz"
X_SECRET = "x-consumer-secret-of-the-security-tests"
WEBHOOK_LIMIT = 120
# What every gateway of this module is started with, on top of the shared test settings.
GATEWAY: dict[str, Any] = {
    "internal_secret": SecretStr(SECRET),
    "admin_key": SecretStr(ADMIN_KEY),
    "key_cache_seconds": 30,
    "webhook_rate_limit_per_minute": WEBHOOK_LIMIT,
    "failed_key_limit_per_minute": 100_000,
}


@dataclass
class FakeService:
    """A service that answers `/v1/cases/fail` with a 500 and keeps the connection open, then
    drops that connection when it is used again (as uvicorn does after an unhandled error);
    every other path is a 200 on a fresh connection."""

    url: str = ""
    received: list[tuple[str, str]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, target, _version = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                if length:
                    await reader.readexactly(int(length.group(1)))
                self.received.append((method, target))
                if served:
                    break  # the dropped keep-alive connection
                served += 1
                failing = target.startswith("/v1/cases/fail")
                status, body = (500, b'{"status": 500}') if failing else (200, b"{}")
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(body)}\r\ndate: Tue, 01 Dec 2026 00:00:00 GMT\r\n"
                    f"server: fake\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@dataclass
class Stack:
    gateway: str
    ingest: str
    fake: FakeService
    client: httpx.AsyncClient
    gateway_database: str

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture(scope="module")
async def stack(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Stack]:
    gateway_database = await migrated_database(postgres_url, "gateway")
    ingest_database = await migrated_database(postgres_url, "ingest")
    ingest_app = create_ingest(
        IngestSettings(
            database_url=ingest_database,
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=SecretStr(SECRET),
        )
    )
    fake = FakeService()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    fake.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        async with serve(ingest_app) as ingest_url:
            gateway_app = create_gateway(
                gateway_settings(
                    gateway_database, **GATEWAY, ingest_url=ingest_url, routing_url=fake.url
                )
            )
            async with serve(gateway_app) as url, httpx.AsyncClient(timeout=30) as client:
                yield Stack(url, ingest_url, fake, client, gateway_database)
    finally:
        server.close()
        await server.wait_closed()


def assert_problem(response: RawResponse | httpx.Response, status: int) -> dict[str, Any]:
    if isinstance(response, httpx.Response):
        response = RawResponse(
            response.status_code, list(response.headers.multi_items()), response.content
        )
    assert response.status == status, response.body
    assert (response.header("content-type") or "").startswith("application/problem+json")
    body: dict[str, Any] = json.loads(response.body)
    assert body["status"] == status
    return body


TRAVERSALS = [
    "/v1/webhooks/meta/../../../metrics",
    "/v1/webhooks/meta/../../../openapi.json",
    "/v1/webhooks/x/../../../docs",
    "/v1/webhooks/meta/%2e%2e/%2e%2e/%2e%2e/metrics",
    "/v1/webhooks/meta/%2E%2E/%2E%2E/%2E%2E/openapi.json",
    "/v1/webhooks/meta/.%2e/.%2e/.%2e/metrics",
    "/v1/webhooks/meta/..%2f..%2f..%2fmetrics",
    "/v1/webhooks/meta/..%2F..%2F..%2Fmetrics",
    "/v1/webhooks/meta/%252e%252e/%252e%252e/%252e%252e/metrics",
    "/v1/webhooks/meta/..%5c..%5c..%5cmetrics",
    "/v1/webhooks/meta/..\\..\\..\\metrics",
    "/v1/webhooks/meta/./../../connections",
    "/v1/webhooks/x/abc/../../../connections",
    "/v1/webhooks/meta/%2e%2e/%2e%2e/interactions",
]


@pytest.mark.parametrize("target", TRAVERSALS)
async def test_dot_segments_never_reach_a_private_path(stack: Stack, target: str) -> None:
    for method in ("GET", "POST"):
        response = await raw_request(
            stack.gateway, method, target, headers=[(b"content-type", b"application/json")]
        )
        body = assert_problem(response, 400)
        assert body["field"] == "path"
        assert b"socialcare_http_requests_total" not in response.body
        assert b'"paths"' not in response.body
        assert b"swagger" not in response.body.lower()


async def test_a_public_prefix_covers_one_connection_id_only(stack: Stack) -> None:
    # Deeper paths under the webhook prefix are not public: they need a key like any other.
    response = await raw_request(stack.gateway, "GET", "/v1/webhooks/meta/abc/def")
    assert_problem(response, 401)


async def test_control_characters_and_non_ascii_headers_are_400(stack: Stack) -> None:
    for target in ("/v1/webhooks/meta/%01", "/v1/webhooks/x/a%0Ab", "/v1/interactions/%7f"):
        body = assert_problem(await raw_request(stack.gateway, "GET", target), 400)
        assert body["field"] == "path"
    for path in ("/v1/webhooks/meta/" + str(uuid.uuid4()), "/v1/interactions"):
        response = await raw_request(
            stack.gateway,
            "GET",
            path,
            headers=[
                (b"authorization", f"Bearer {ADMIN_KEY}".encode()),
                (b"x-note", "Peña ☺".encode()),
            ],
        )
        body = assert_problem(response, 400)
        assert body["field"] == "x-note"


async def test_date_and_server_appear_once(stack: Stack) -> None:
    response = await raw_request(
        stack.gateway,
        "GET",
        "/v1/interactions",
        headers=[(b"authorization", f"Bearer {ADMIN_KEY}".encode())],
    )
    assert response.status == 200, response.body
    assert len(response.all("date")) == 1
    assert len(response.all("server")) == 1


async def test_an_idempotent_request_is_retried_once_on_a_fresh_connection(stack: Stack) -> None:
    stack.fake.received.clear()
    failed = await stack.client.get(f"{stack.gateway}/v1/cases/fail", headers=stack.admin())
    assert failed.status_code == 500
    # The service drops that connection when it is reused: sent again on a new one.
    retried = await stack.client.get(f"{stack.gateway}/v1/cases", headers=stack.admin())
    assert retried.status_code == 200, retried.text
    assert stack.fake.received == [
        ("GET", "/v1/cases/fail"),
        ("GET", "/v1/cases"),
        ("GET", "/v1/cases"),
    ]
    # A POST is never sent twice: the client hears 502 and decides.
    stack.fake.received.clear()
    await stack.client.get(f"{stack.gateway}/v1/cases/fail", headers=stack.admin())
    posted = await stack.client.post(
        f"{stack.gateway}/v1/cases", json={"a": 1}, headers=stack.admin()
    )
    assert_problem(posted, 502)
    assert [method for method, _ in stack.fake.received].count("POST") == 1


async def test_webhooks_to_a_missing_connection_do_not_throttle_a_real_one(stack: Stack) -> None:
    created = await stack.client.post(
        f"{stack.gateway}/v1/connections",
        json={
            "brand_id": "acme-security",
            "platform": "x",
            "name": "acme on X",
            "account_ids": ["1001"],
            "secrets": {"consumer_secret": X_SECRET},
        },
        headers=stack.admin(),
    )
    assert created.status_code == 201, created.text
    real = created.json()["id"]
    missing = str(uuid.uuid4())
    statuses: list[int] = []
    # The bucket refills while the flood runs (2/s at 120/min): flood until it is empty.
    while 429 not in statuses and len(statuses) < 5 * WEBHOOK_LIMIT:
        response = await stack.client.post(
            f"{stack.gateway}/v1/webhooks/x/{missing}",
            content=b'{"for_user_id": "1001"}',
            headers={"Content-Type": "application/json"},
        )
        statuses.append(response.status_code)
    assert statuses[-1] == 429
    assert len(statuses) > WEBHOOK_LIMIT
    assert set(statuses[:WEBHOOK_LIMIT]) == {404}
    body = json.dumps({"for_user_id": "1001", "tweet_create_events": []}).encode()
    signed = await stack.client.post(
        f"{stack.gateway}/v1/webhooks/x/{real}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "x-twitter-webhooks-signature": x_signature(body, X_SECRET),
        },
    )
    assert signed.status_code == 200, signed.text


async def test_metrics_label_series_do_not_grow_with_methods_paths_or_tokens(
    stack: Stack,
) -> None:
    async def series(base: str) -> set[str]:
        text = (await stack.client.get(f"{base}/metrics")).text
        return {
            line.rsplit(" ", 1)[0]
            for line in text.splitlines()
            if line.startswith("socialcare_http_requests_total{")
        }

    async def round_of_noise(tag: str) -> None:
        for index in range(5):
            await raw_request(stack.gateway, f"M{tag}{index}", "/v1/interactions")
            await raw_request(stack.gateway, "GET", f"/v1/no-such-{tag}{index}")
            await raw_request(stack.gateway, "GET", f"/v1/webhooks/x/{tag}{index}?crc_token=a{tag}")
            await raw_request(stack.ingest, f"M{tag}{index}", f"/anything-{tag}{index}")
            await raw_request(stack.ingest, "GET", f"/v1/webhooks/x/{tag}{index}?crc_token={tag}")

    for base in (stack.gateway, stack.ingest):
        await series(base)
    await round_of_noise("a")  # the first round may add the label sets these requests use
    before = {base: await series(base) for base in (stack.gateway, stack.ingest)}
    await round_of_noise("b")
    for base in (stack.gateway, stack.ingest):
        after = await series(base)
        assert after == before[base], (after - before[base], before[base] - after)
    assert not any("Ma0" in line or "no-such" in line for line in before[stack.gateway])


async def test_405_names_the_methods_of_the_path(stack: Stack) -> None:
    response = await stack.client.put(f"{stack.gateway}/v1/api-keys", headers=stack.admin())
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, POST"
    response = await stack.client.patch(
        f"{stack.gateway}/v1/api-keys/{uuid.uuid4()}", headers=stack.admin()
    )
    assert_problem(response, 405)
    assert response.headers["allow"] == "DELETE, GET"
    # A method no route of a service takes: the service's own Allow, not the gateway's list.
    response = await stack.client.request(
        "TRACE", f"{stack.gateway}/v1/interactions", headers=stack.admin()
    )
    assert response.status_code == 405
    # GET implies HEAD (RFC 9110), so the service names it too.
    assert sorted(response.headers["allow"].replace(" ", "").split(",")) == ["GET", "HEAD", "POST"]


async def test_repeated_unknown_keys_get_429_but_known_keys_pass(stack: Stack) -> None:
    settings = gateway_settings(
        stack.gateway_database,
        **GATEWAY | {"failed_key_limit_per_minute": 60},
        ingest_url=stack.ingest,
        routing_url=stack.fake.url,
    )
    async with serve(create_gateway(settings)) as gateway:
        known = await stack.client.get(f"{gateway}/v1/api-keys", headers=stack.admin())
        assert known.status_code == 200
        statuses = []
        for index in range(300):
            response = await stack.client.get(
                f"{gateway}/v1/interactions",
                headers={"Authorization": f"Bearer sc_guess_{index:04d}"},
            )
            statuses.append(response.status_code)
        assert statuses[:60] == [401] * 60
        # The failure budget refills at 1/s while the guesses go on; most are refused.
        assert 429 in statuses[60:70]
        assert statuses.count(429) >= 200
        again = await stack.client.get(f"{gateway}/v1/api-keys", headers=stack.admin())
        assert again.status_code == 200


async def test_a_generated_admin_key_is_shown_once(
    postgres_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    database = await migrated_database(postgres_url, "gateway")
    key_file = tmp_path / "bootstrap-admin-key"
    settings = gateway_settings(database, **GATEWAY | {"admin_key": None}, admin_key_file=key_file)
    async with serve(create_gateway(settings)) as gateway, httpx.AsyncClient() as client:
        captured = capfd.readouterr()
        keys = re.findall(r"sc_[A-Za-z0-9_-]{40,}", captured.err)
        assert len(keys) == 1, captured.err
        key = keys[0]
        assert key not in captured.out  # not in the structured log stream
        assert key_file.read_text().strip() == key
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        listing = await client.get(
            f"{gateway}/v1/api-keys", headers={"Authorization": f"Bearer {key}"}
        )
        assert listing.status_code == 200
    with contextlib.suppress(FileNotFoundError):
        key_file.unlink()
    async with serve(create_gateway(settings)):
        pass
    captured = capfd.readouterr()
    assert key not in captured.out + captured.err
    assert not key_file.exists()
