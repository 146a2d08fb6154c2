"""The gateway over real HTTP in front of real services (PostgreSQL, Kafka)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from pydantic import SecretStr

from services.gateway.main import create_app as create_gateway
from services.ingest.config import IngestSettings
from services.ingest.main import create_app as create_ingest
from services.kpi.config import KpiSettings
from services.kpi.main import create_app as create_kpi
from shared.auth import PRINCIPAL_HEADER, Principal, RequestBinding, encode_principal
from tests.conftest import serve
from tests.fixtures.services import gateway_settings, migrated_database

pytestmark = pytest.mark.integration

SECRET = "gateway-test-internal-secret"
ADMIN_KEY = "sc_test_admin_key_0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass
class Suite:
    gateway: str
    ingest: str
    kpi: str
    client: httpx.AsyncClient

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_KEY}"}

    async def key(self, scopes: list[str], **extra: object) -> str:
        response = await self.client.post(
            f"{self.gateway}/v1/api-keys",
            json={"name": "test key", "scopes": scopes, **extra},
            headers=self.admin(),
        )
        assert response.status_code == 201, response.text
        key: str = response.json()["key"]
        return key


@pytest.fixture(scope="module")
async def suite(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Suite]:
    databases = {}
    for service in ("gateway", "ingest", "kpi"):
        databases[service] = await migrated_database(postgres_url, service)
    secret = SecretStr(SECRET)
    ingest_app = create_ingest(
        IngestSettings(
            database_url=databases["ingest"],
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=secret,
        )
    )
    kpi_app = create_kpi(
        KpiSettings(
            database_url=databases["kpi"], kafka_bootstrap=kafka_bootstrap, internal_secret=secret
        )
    )
    async with serve(ingest_app) as ingest_url, serve(kpi_app) as kpi_url:
        gateway_app = create_gateway(
            gateway_settings(
                databases["gateway"],
                internal_secret=SecretStr(SECRET),
                admin_key=SecretStr(ADMIN_KEY),
                ingest_url=ingest_url,
                kpi_url=kpi_url,
                key_cache_seconds=0,
            )
        )
        async with serve(gateway_app) as gateway_url, httpx.AsyncClient(timeout=30) as client:
            yield Suite(gateway_url, ingest_url, kpi_url, client)


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


async def test_missing_or_unknown_key_is_401(suite: Suite) -> None:
    response = await suite.client.get(f"{suite.gateway}/v1/api-keys")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    response = await suite.client.get(
        f"{suite.gateway}/v1/interactions", headers={"Authorization": "Bearer sc_nope"}
    )
    assert_problem(response, 401)


async def test_admin_manages_keys_stored_hashed(suite: Suite) -> None:
    key = await suite.key(["kpis:read"], departments=["customer_service"])
    listing = await suite.client.get(f"{suite.gateway}/v1/api-keys", headers=suite.admin())
    assert listing.status_code == 200
    assert key not in listing.text  # never the secret again
    created = next(item for item in listing.json()["items"] if item["prefix"] == key[:10])
    assert created["scopes"] == ["kpis:read"]
    assert created["departments"] == ["customer_service"]
    deleted = await suite.client.delete(
        f"{suite.gateway}/v1/api-keys/{created['id']}", headers=suite.admin()
    )
    assert deleted.status_code == 204
    after = await suite.client.get(
        f"{suite.gateway}/v1/interactions", headers={"Authorization": f"Bearer {key}"}
    )
    assert_problem(after, 401)
    missing = await suite.client.delete(
        f"{suite.gateway}/v1/api-keys/{created['id']}x", headers=suite.admin()
    )
    assert_problem(missing, 404)


async def test_wrong_scope_is_403_at_the_gateway_and_the_service(suite: Suite) -> None:
    key = await suite.key(["kpis:read"])
    headers = {"Authorization": f"Bearer {key}"}
    body = assert_problem(
        await suite.client.get(f"{suite.gateway}/v1/api-keys", headers=headers), 403
    )
    assert body["missing_scopes"] == ["admin"]
    body = assert_problem(
        await suite.client.get(f"{suite.gateway}/v1/interactions", headers=headers), 403
    )
    assert "interactions:read" in str(body["detail"])


async def test_rate_limit_is_429_with_retry_after(suite: Suite) -> None:
    key = await suite.key(["interactions:read"], rate_limit_per_minute=3)
    headers = {"Authorization": f"Bearer {key}"}
    statuses = [
        (await suite.client.get(f"{suite.gateway}/v1/interactions", headers=headers)).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 200]
    limited = await suite.client.get(f"{suite.gateway}/v1/interactions", headers=headers)
    assert_problem(limited, 429)
    assert int(limited.headers["retry-after"]) >= 1


async def test_proxy_forwards_bodies_and_a_principal_the_service_trusts(suite: Suite) -> None:
    key = await suite.key(["ingest:write", "interactions:read"])
    headers = {"Authorization": f"Bearer {key}", "X-Request-ID": "req-proxy-1"}
    item = {
        "brand_id": "acme",
        "channel": "google_reviews",
        "kind": "review",
        "external_id": "review-proxy-1",
        "text": "El pedido llegó tarde y roto. Muy decepcionada.",
        "created_at": "2026-11-20T10:15:00Z",
    }
    created = await suite.client.post(
        f"{suite.gateway}/v1/interactions", json=item, headers=headers
    )
    assert created.status_code == 200, created.text
    assert created.headers["x-request-id"] == "req-proxy-1"
    interaction_id = created.json()["items"][0]["id"]
    fetched = await suite.client.get(
        f"{suite.gateway}/v1/interactions/{interaction_id}", headers=headers
    )
    assert fetched.status_code == 200
    assert fetched.json()["text"] == item["text"]


async def test_services_refuse_requests_that_bypass_the_gateway(suite: Suite) -> None:
    direct = await suite.client.get(f"{suite.ingest}/v1/interactions")
    assert_problem(direct, 401)
    binding = RequestBinding.of("ingest", "GET", "/v1/interactions", b"", b"")
    forged = encode_principal(
        Principal(key_id="forged", scopes=frozenset({"admin"})), "not-the-secret", binding
    )
    direct = await suite.client.get(
        f"{suite.ingest}/v1/interactions", headers={PRINCIPAL_HEADER: forged}
    )
    assert_problem(direct, 401)


async def test_a_client_supplied_principal_header_is_dropped_not_trusted(suite: Suite) -> None:
    # A valid key without interactions:read, plus a principal header signed with the real
    # secret for this very request, claiming admin: only the gateway's own principal may reach
    # the service.
    key = await suite.key(["kpis:read"])
    binding = RequestBinding.of("ingest", "GET", "/v1/interactions", b"", b"")
    smuggled = encode_principal(
        Principal(key_id="smuggled", scopes=frozenset({"admin", "interactions:read"})),
        SECRET,
        binding,
    )
    response = await suite.client.get(
        f"{suite.gateway}/v1/interactions",
        headers={"Authorization": f"Bearer {key}", PRINCIPAL_HEADER: smuggled},
    )
    body = assert_problem(response, 403)
    assert "interactions:read" in str(body["detail"])


async def test_platform_webhooks_pass_without_api_key(suite: Suite) -> None:
    path = "/v1/webhooks/meta/00000000-0000-0000-0000-000000000000"
    body = b'{"object": "page", "entry": []}'
    headers = {"Content-Type": "application/json"}

    async def post(url: str) -> dict[str, object]:
        return assert_problem(await suite.client.post(url, content=body, headers=headers), 404)

    # Reaches ingest (no 401 from the gateway): the answer is ingest's own, for the unknown
    # connection, not the gateway's 404 for a path it does not route.
    through_gateway = await post(f"{suite.gateway}{path}")
    direct = await post(f"{suite.ingest}{path}")
    assert through_gateway["detail"] == direct["detail"]
    assert "connection" in str(through_gateway["detail"]).lower()
    unrouted = await post(f"{suite.gateway}/v1/nothing-here/x")
    assert unrouted["detail"] != through_gateway["detail"]


async def test_service_down_is_502_and_unknown_path_404(suite: Suite) -> None:
    key = await suite.key(["cases:read"])
    response = await suite.client.get(
        f"{suite.gateway}/v1/cases", headers={"Authorization": f"Bearer {key}"}
    )
    body = assert_problem(response, 502)
    assert body["service"] == "routing"
    assert_problem(
        await suite.client.get(f"{suite.gateway}/v1/nothing-here", headers=suite.admin()), 404
    )


async def test_aggregated_openapi_lists_every_service_path(suite: Suite) -> None:
    document = (await suite.client.get(f"{suite.gateway}/openapi.json")).json()
    for base in (suite.ingest, suite.kpi):
        own = (await suite.client.get(f"{base}/openapi.json")).json()
        for path in own["paths"]:
            if path.startswith("/v1/"):
                assert path in document["paths"], path
    assert "/v1/api-keys" in document["paths"]
    assert "/v1/interactions" in document["paths"]
    assert "/v1/webhooks/meta/{connection_id}" in document["paths"]
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert sorted(document["info"]["x-unavailable-services"]) == [
        "guidelines",
        "routing",
        "webhooks",
    ]
    docs = await suite.client.get(f"{suite.gateway}/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_health_and_metrics(suite: Suite) -> None:
    for base in (suite.gateway, suite.ingest, suite.kpi):
        assert (await suite.client.get(f"{base}/healthz")).json() == {"status": "ok"}
        ready = await suite.client.get(f"{base}/readyz")
        assert ready.status_code == 200, ready.text
        metrics = await suite.client.get(f"{base}/metrics")
        assert "socialcare_http_requests_total" in metrics.text
