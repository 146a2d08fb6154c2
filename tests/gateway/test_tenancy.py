"""Brand limits and the replay-proof principal, through the real gateway in front of real ingest
and guidelines (PostgreSQL, Kafka). A stand-in "routing" service, written with the same shared
auth every service uses, shows what the gateway sends and lets a captured header be replayed."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from pydantic import SecretStr

from services.gateway.main import create_app as create_gateway
from services.guidelines.config import GuidelinesSettings
from services.guidelines.main import create_app as create_guidelines
from services.ingest.config import IngestSettings
from services.ingest.main import create_app as create_ingest
from shared.auth import (
    PRINCIPAL_HEADER,
    Principal,
    RequestBinding,
    Scope,
    encode_principal,
    require_scopes,
)
from shared.errors import install_error_handlers
from shared.settings import ServiceSettings
from tests.conftest import serve
from tests.fixtures.services import gateway_settings, migrated_database

pytestmark = pytest.mark.integration

SECRET = "tenancy-test-internal-secret"
ADMIN_KEY = "sc_tenancy_admin_key_0123456789abcdefghijklmnopqrstuvwxyz"
VALE_RULE = "extends: existence\nmessage: \"Avoid '%s'.\"\nlevel: warning\ntokens:\n  - obviously\n"
GUIDELINE = {"packs": ["standards", "tone_style"], "formality": "usted"}


CasesReaderDep = Annotated[Principal, Depends(require_scopes(Scope.cases_read))]


@dataclass
class Captured:
    """What the stand-in routing service received, one entry per request."""

    requests: list[tuple[str, str, bytes, dict[str, str]]] = field(default_factory=list)


def routing_stand_in(captured: Captured) -> FastAPI:
    """A service that trusts only the gateway's principal, through shared.auth."""
    app = FastAPI()
    app.state.settings = ServiceSettings(service_name="routing", internal_secret=SecretStr(SECRET))
    install_error_handlers(app)

    @app.api_route("/v1/cases", methods=["GET", "POST"])
    async def cases(request: Request, principal: CasesReaderDep) -> dict[str, Any]:
        body = await request.body()
        captured.requests.append(
            (request.method, request.url.path, body, dict(request.headers.items()))
        )
        return {
            "key_id": principal.key_id,
            "brands": sorted(principal.brands or []),
            "member_id": principal.member_id,
            "member_brand_id": principal.member_brand_id,
        }

    return app


@dataclass
class Suite:
    gateway: str
    ingest: str
    guidelines: str
    routing: str
    client: httpx.AsyncClient
    captured: Captured

    async def key(self, scopes: list[str], **extra: object) -> dict[str, str]:
        response = await self.client.post(
            f"{self.gateway}/v1/api-keys",
            json={"name": "tenancy key", "scopes": scopes, **extra},
            headers=ADMIN,
        )
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['key']}"}


ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture(scope="module")
async def suite(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Suite]:
    databases = {}
    for service in ("gateway", "ingest", "guidelines"):
        databases[service] = await migrated_database(postgres_url, service)
    secret = SecretStr(SECRET)
    ingest_app = create_ingest(
        IngestSettings(
            database_url=databases["ingest"],
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=secret,
        )
    )
    guidelines_app = create_guidelines(
        GuidelinesSettings(
            database_url=databases["guidelines"],
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=secret,
        )
    )
    captured = Captured()
    async with (
        serve(ingest_app) as ingest_url,
        serve(guidelines_app) as guidelines_url,
        serve(routing_stand_in(captured)) as routing_url,
    ):
        gateway_app = create_gateway(
            gateway_settings(
                databases["gateway"],
                internal_secret=secret,
                admin_key=SecretStr(ADMIN_KEY),
                ingest_url=ingest_url,
                guidelines_url=guidelines_url,
                routing_url=routing_url,
                key_cache_seconds=0,
            )
        )
        async with serve(gateway_app) as gateway_url, httpx.AsyncClient(timeout=30) as client:
            yield Suite(gateway_url, ingest_url, guidelines_url, routing_url, client, captured)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def brand() -> str:
    return f"brand-{uuid.uuid4().hex[:8]}"


def connection_body(brand_id: str) -> dict[str, Any]:
    return {
        "brand_id": brand_id,
        "platform": "meta",
        "name": f"{brand_id} page",
        "account_ids": [f"page-{brand_id}"],
        "secrets": {"app_secret": "app-secret", "verify_token": "verify"},
    }


def review(brand_id: str, number: int) -> dict[str, Any]:
    return {
        "brand_id": brand_id,
        "channel": "google_reviews",
        "kind": "review",
        "external_id": f"review-{brand_id}-{number}",
        "text": "El pedido llegó tarde.",
        "created_at": "2026-11-20T10:15:00Z",
    }


# ------------------------------------------------------------------------- replay (item 5)


async def test_a_captured_principal_is_refused_by_every_other_route(suite: Suite) -> None:
    headers = await suite.key(["cases:read"])
    through = await suite.client.get(f"{suite.gateway}/v1/cases", headers=headers)
    assert through.status_code == 200, through.text
    captured = suite.captured.requests[-1][3][PRINCIPAL_HEADER]
    stolen = {PRINCIPAL_HEADER: captured}
    # The same header, replayed at once, is good for nothing but the request it was made for.
    replays = [
        suite.client.post(
            f"{suite.ingest}/v1/connections", json=connection_body(brand()), headers=stolen
        ),
        suite.client.put(f"{suite.guidelines}/v1/guidelines/acme", json=GUIDELINE, headers=stolen),
        suite.client.get(f"{suite.ingest}/v1/interactions", headers=stolen),
        suite.client.post(f"{suite.routing}/v1/cases", json={}, headers=stolen),
        suite.client.get(f"{suite.routing}/v1/cases", params={"limit": 1}, headers=stolen),
    ]
    for response in await asyncio.gather(*replays):
        assert_problem(response, 401)
    # Only the very request it was issued for, within the short window, still passes: the
    # stand-in is not simply refusing everything.
    assert (await suite.client.get(f"{suite.routing}/v1/cases", headers=stolen)).status_code == 200


async def test_the_gateway_signs_the_body_it_forwards(suite: Suite) -> None:
    headers = await suite.key(["cases:read"])
    body = b'{"subject": "caso", "n": 1}'
    response = await suite.client.post(
        f"{suite.gateway}/v1/cases",
        content=body,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    method, _path, received, sent_headers = suite.captured.requests[-1]
    assert (method, received) == ("POST", body)
    # The same principal with another body is refused.
    tampered = await suite.client.post(
        f"{suite.routing}/v1/cases",
        content=b'{"subject": "otro", "n": 2}',
        headers={PRINCIPAL_HEADER: sent_headers[PRINCIPAL_HEADER]},
    )
    assert_problem(tampered, 401)


async def test_future_and_stale_principals_are_refused(suite: Suite) -> None:
    principal = Principal(key_id="clock", scopes=frozenset({"interactions:read"}))
    binding = RequestBinding.of("ingest", "GET", "/v1/interactions", b"", b"")
    now = time.time()
    for offset, status in ((290, 401), (-60, 401), (2, 200)):
        header = encode_principal(principal, SECRET, binding, now=now + offset)
        response = await suite.client.get(
            f"{suite.ingest}/v1/interactions", headers={PRINCIPAL_HEADER: header}
        )
        assert response.status_code == status, (offset, response.text)


@pytest.mark.parametrize("service", ["ingest", "guidelines"])
async def test_non_ascii_principal_is_401_problem(suite: Suite, service: str) -> None:
    base = suite.ingest if service == "ingest" else suite.guidelines
    path = "/v1/interactions" if service == "ingest" else "/v1/guidelines/acme"
    for value in (b"\xff\xfe.1.abc", "caf\u00e9.1.x".encode("latin-1"), b"a.\xb9\xb2.b"):
        response = await suite.client.get(
            f"{base}{path}", headers={PRINCIPAL_HEADER.encode(): value}
        )
        assert_problem(response, 401)


# --------------------------------------------------------------------- brand limits (item 6)


async def test_keys_store_list_and_show_their_brand_limit(suite: Suite) -> None:
    created = await suite.client.post(
        f"{suite.gateway}/v1/api-keys",
        json={"name": "acme desk", "scopes": ["interactions:read"], "brands": ["b2", "b1", "b1"]},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    key_id = created.json()["id"]
    assert created.json()["brands"] == ["b1", "b2"]
    shown = await suite.client.get(f"{suite.gateway}/v1/api-keys/{key_id}", headers=ADMIN)
    assert shown.status_code == 200
    assert shown.json()["brands"] == ["b1", "b2"]
    assert "key" not in shown.json()
    listing = await suite.client.get(
        f"{suite.gateway}/v1/api-keys", params={"limit": 500}, headers=ADMIN
    )
    listed = {item["id"]: item for item in listing.json()["items"]}
    assert listed[key_id]["brands"] == ["b1", "b2"]
    assert_problem(
        await suite.client.get(f"{suite.gateway}/v1/api-keys/{key_id}x", headers=ADMIN), 404
    )
    for bad in (
        {"name": "x", "scopes": ["admin"], "brands": ["acme"]},
        {"name": "x", "scopes": ["kpis:read"], "brands": []},
        {"name": "x", "scopes": ["kpis:read"], "brands": ["no spaces"]},
    ):
        refused = await suite.client.post(f"{suite.gateway}/v1/api-keys", json=bad, headers=ADMIN)
        body = assert_problem(refused, 422)
        assert "brands" in str(body), body


async def test_the_brand_limit_reaches_the_service_in_the_principal(suite: Suite) -> None:
    headers = await suite.key(["cases:read"], brands=["acme"])
    response = await suite.client.get(f"{suite.gateway}/v1/cases", headers=headers)
    assert response.json()["brands"] == ["acme"]
    assert response.json()["member_id"] is None


async def test_a_personal_key_carries_its_member_to_the_service(suite: Suite) -> None:
    created = await suite.client.post(
        f"{suite.gateway}/v1/api-keys",
        json={
            "name": "Ana (console)",
            "scopes": ["cases:read", "replies:write"],
            "brands": ["acme"],
            "member_id": "mem-ana",
            "member_brand_id": "acme",
        },
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    assert created.json()["member_id"] == "mem-ana"
    shown = await suite.client.get(
        f"{suite.gateway}/v1/api-keys/{created.json()['id']}", headers=ADMIN
    )
    assert shown.json()["member_brand_id"] == "acme"
    headers = {"Authorization": f"Bearer {created.json()['key']}"}
    response = await suite.client.get(f"{suite.gateway}/v1/cases", headers=headers)
    assert response.json()["member_id"] == "mem-ana"
    assert response.json()["member_brand_id"] == "acme"
    for bad, field_name in (
        ({"member_id": "mem-ana"}, "member"),
        ({"member_brand_id": "acme"}, "member"),
        ({"member_id": "mem-ana", "member_brand_id": "globex", "brands": ["acme"]}, "member"),
        ({"member_id": "no spaces", "member_brand_id": "acme"}, "member_id"),
    ):
        refused = await suite.client.post(
            f"{suite.gateway}/v1/api-keys",
            json={"name": "x", "scopes": ["replies:write"], **bad},
            headers=ADMIN,
        )
        body = assert_problem(refused, 422)
        assert field_name in str(body), body


async def test_connections_of_other_brands_are_invisible(suite: Suite) -> None:
    mine, theirs = brand(), brand()
    limited = await suite.key(["team:write"], brands=[mine])
    unlimited = await suite.key(["team:write"])
    url = f"{suite.gateway}/v1/connections"
    their_connection = await suite.client.post(url, json=connection_body(theirs), headers=ADMIN)
    assert their_connection.status_code == 201
    their_id = their_connection.json()["id"]

    refused = await suite.client.post(url, json=connection_body(theirs), headers=limited)
    body = assert_problem(refused, 403)
    assert body["field"] == "brand_id"
    created = await suite.client.post(url, json=connection_body(mine), headers=limited)
    assert created.status_code == 201, created.text
    my_id = created.json()["id"]

    listing = (await suite.client.get(url, params={"limit": 500}, headers=limited)).json()
    assert {item["brand_id"] for item in listing["items"]} == {mine}
    filtered = await suite.client.get(url, params={"brand_id": theirs}, headers=limited)
    assert filtered.json()["items"] == []
    for method, payload in (("GET", None), ("PATCH", {"name": "taken"}), ("DELETE", None)):
        response = await suite.client.request(
            method, f"{url}/{their_id}", headers=limited, json=payload
        )
        assert_problem(response, 404)
    # Untouched, and still visible to a key without a brand limit (today's behaviour).
    everyone = (await suite.client.get(url, params={"limit": 500}, headers=unlimited)).json()
    names = {item["id"]: item["name"] for item in everyone["items"]}
    assert names[their_id] == f"{theirs} page"
    assert my_id in names
    assert (await suite.client.get(f"{url}/{my_id}", headers=limited)).status_code == 200


async def test_interactions_of_other_brands_are_invisible(suite: Suite) -> None:
    mine, theirs = brand(), brand()
    limited = await suite.key(["ingest:write", "interactions:read"], brands=[mine])
    url = f"{suite.gateway}/v1/interactions"
    theirs_in = await suite.client.post(url, json=review(theirs, 1), headers=ADMIN)
    assert theirs_in.status_code == 200, theirs_in.text
    their_id = theirs_in.json()["items"][0]["id"]

    mixed = await suite.client.post(
        url, json={"items": [review(mine, 1), review(theirs, 2)]}, headers=limited
    )
    assert mixed.status_code == 200, mixed.text
    result = mixed.json()
    assert (result["accepted"], result["rejected"]) == (1, 1)
    assert result["items"][1]["errors"][0]["field"] == "brand_id"
    my_id = result["items"][0]["id"]

    assert_problem(await suite.client.get(f"{url}/{their_id}", headers=limited), 404)
    assert (await suite.client.get(f"{url}/{my_id}", headers=limited)).status_code == 200
    page = (await suite.client.get(url, params={"limit": 500}, headers=limited)).json()
    assert {item["brand_id"] for item in page["items"]} == {mine}
    other = await suite.client.get(url, params={"brand_id": theirs}, headers=limited)
    assert other.json()["items"] == []
    admin_view = await suite.client.get(url, params={"brand_id": theirs}, headers=ADMIN)
    assert [item["id"] for item in admin_view.json()["items"]] == [their_id]


async def test_guidelines_of_other_brands_are_invisible(suite: Suite) -> None:
    mine, theirs = brand(), brand()
    limited = await suite.key(["guidelines:read", "guidelines:write"], brands=[mine])
    base = f"{suite.gateway}/v1/guidelines"
    published = await suite.client.put(f"{base}/{theirs}", json=GUIDELINE, headers=ADMIN)
    assert published.status_code == 201, published.text
    mine_published = await suite.client.put(f"{base}/{mine}", json=GUIDELINE, headers=limited)
    assert mine_published.status_code == 201, mine_published.text

    yaml_headers = {**limited, "Content-Type": "application/yaml"}
    attempts = [
        suite.client.get(f"{base}/{theirs}", headers=limited),
        suite.client.put(f"{base}/{theirs}", json=GUIDELINE, headers=limited),
        suite.client.put(
            f"{base}/{theirs}/import", content=b"packs: [legal]\n", headers=yaml_headers
        ),
        suite.client.put(
            f"{base}/{theirs}/vale",
            json={"style": "S", "files": {"Hedging.yml": VALE_RULE}},
            headers=limited,
        ),
        suite.client.get(f"{base}/{theirs}/export", headers=limited),
        suite.client.get(f"{base}/{theirs}/versions", headers=limited),
        suite.client.get(f"{base}/{theirs}/versions/1", headers=limited),
        suite.client.post(
            f"{base}/check", json={"brand_id": theirs, "text": "Hola"}, headers=limited
        ),
        suite.client.post(
            f"{base}/check/batch",
            json={"brand_id": theirs, "items": [{"text": "Hola"}]},
            headers=limited,
        ),
    ]
    for response in await asyncio.gather(*attempts):
        assert_problem(response, 404)
    versions = await suite.client.get(f"{base}/{theirs}/versions", headers=ADMIN)
    assert [item["version"] for item in versions.json()["items"]] == [1]  # nothing published

    for response in await asyncio.gather(
        suite.client.get(f"{base}/{mine}", headers=limited),
        suite.client.get(f"{base}/{mine}/export", headers=limited),
        suite.client.get(f"{base}/{mine}/versions", headers=limited),
        suite.client.post(
            f"{base}/check", json={"brand_id": mine, "text": "Hola"}, headers=limited
        ),
    ):
        assert response.status_code == 200, response.text


# ------------------------------------------------------------------------ department limits


async def test_department_limited_keys_get_no_brand_wide_data_or_changes(suite: Suite) -> None:
    mine = brand()
    limited = await suite.key(
        [
            "team:write",
            "interactions:read",
            "ingest:write",
            "guidelines:read",
            "guidelines:write",
        ],
        departments=["customer_service"],
    )
    published = await suite.client.put(
        f"{suite.gateway}/v1/guidelines/{mine}", json=GUIDELINE, headers=ADMIN
    )
    assert published.status_code == 201
    connection = await suite.client.post(
        f"{suite.gateway}/v1/connections", json=connection_body(mine), headers=ADMIN
    )
    connection_url = f"{suite.gateway}/v1/connections/{connection.json()['id']}"
    intake = await suite.client.post(
        f"{suite.gateway}/v1/interactions", json=review(mine, 7), headers=limited
    )
    assert intake.json()["accepted"] == 1, intake.text  # anyone may hand interactions in
    interaction_id = intake.json()["items"][0]["id"]

    refused = await asyncio.gather(
        # An interaction may turn out to be HR's once routed: not readable department-blind.
        suite.client.get(f"{suite.gateway}/v1/interactions", headers=limited),
        suite.client.get(f"{suite.gateway}/v1/interactions/{interaction_id}", headers=limited),
        # Platform accounts and guidelines serve every department of the brand.
        suite.client.post(
            f"{suite.gateway}/v1/connections", json=connection_body(mine), headers=limited
        ),
        suite.client.patch(connection_url, json={"name": "mine now"}, headers=limited),
        suite.client.delete(connection_url, headers=limited),
        suite.client.put(f"{suite.gateway}/v1/guidelines/{mine}", json=GUIDELINE, headers=limited),
        suite.client.put(
            f"{suite.gateway}/v1/guidelines/{mine}/import",
            content=b"packs: [legal]\n",
            headers={**limited, "Content-Type": "application/yaml"},
        ),
    )
    for response in refused:
        body = assert_problem(response, 403)
        assert body["field"] == "departments", body
    allowed = await asyncio.gather(
        suite.client.get(connection_url, headers=limited),
        suite.client.get(f"{suite.gateway}/v1/guidelines/{mine}", headers=limited),
        suite.client.post(
            f"{suite.gateway}/v1/guidelines/check",
            json={"brand_id": mine, "text": "Hola, ¿en qué podemos ayudarle?"},
            headers=limited,
        ),
    )
    for response in allowed:
        assert response.status_code == 200, response.text
