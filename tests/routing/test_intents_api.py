"""The intents API through the gateway, with routing on PostgreSQL and Kafka (real HTTP)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from services.gateway.main import create_app as create_gateway
from services.routing import service
from services.routing.config import RoutingSettings
from services.routing.intents import Intent
from services.routing.intents.dataset import parse_examples
from services.routing.main import create_app as create_routing
from shared.runtime import ServiceRuntime
from tests.conftest import serve
from tests.fixtures.services import gateway_settings, migrated_database

pytestmark = pytest.mark.integration

SECRET = "routing-test-internal-secret"
ADMIN_KEY = "sc_test_admin_key_routing_0123456789abcdefghijklmnopqrstuv"


@dataclass
class Suite:
    gateway: str
    routing: str
    routing_app: FastAPI
    client: httpx.AsyncClient
    reader: dict[str, str]
    writer_only: dict[str, str]

    async def post(
        self, path: str, body: object, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.client.post(
            f"{self.gateway}{path}", json=body, headers=headers or self.reader
        )

    async def record(self, brand_id: str, text: str, intent: Intent, **extra: object) -> None:
        runtime: ServiceRuntime = self.routing_app.state.runtime
        async with runtime.sessions() as session:
            await service.record_intent_correction(
                session,
                brand_id=brand_id,
                text=text,
                intent=intent,
                labelled_by="member-1",
                **extra,  # type: ignore[arg-type]
            )
            await session.commit()


async def create_key(client: httpx.AsyncClient, gateway: str, scopes: list[str]) -> dict[str, str]:
    response = await client.post(
        f"{gateway}/v1/api-keys",
        json={"name": "intents test", "scopes": scopes},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


@pytest.fixture(scope="module")
async def suite(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Suite]:
    databases = {}
    for name in ("gateway", "routing"):
        databases[name] = await migrated_database(postgres_url, name)
    routing_app = create_routing(
        RoutingSettings(
            database_url=databases["routing"],
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=SecretStr(SECRET),
        )
    )
    async with serve(routing_app) as routing_url:
        gateway_app = create_gateway(
            gateway_settings(
                databases["gateway"],
                internal_secret=SecretStr(SECRET),
                admin_key=SecretStr(ADMIN_KEY),
                routing_url=routing_url,
                key_cache_seconds=0,
            )
        )
        async with serve(gateway_app) as gateway_url, httpx.AsyncClient(timeout=60) as client:
            reader = await create_key(client, gateway_url, ["cases:read"])
            writer_only = await create_key(client, gateway_url, ["guidelines:read"])
            yield Suite(gateway_url, routing_url, routing_app, client, reader, writer_only)


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


async def test_classify_spanish_and_english_through_the_gateway(suite: Suite) -> None:
    response = await suite.post(
        "/v1/intents/classify", {"text": "¿Xq nadie contesta?? Llevo 4 días esperando mi pedido"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["intent"], body["lang"]) == ("complaint", "es")
    assert 0.5 < body["confidence"] <= 1
    assert all(item["confidence"] <= body["confidence"] for item in body["alternatives"])
    assert body["intent"] not in {item["intent"] for item in body["alternatives"]}

    english = await suite.post(
        "/v1/intents/classify",
        {"text": "I'm a journalist at the Daily Post, can you comment on the fire?", "lang": "en"},
    )
    assert (english.json()["intent"], english.json()["lang"]) == ("press_inquiry", "en")


async def test_batch_keeps_order_and_caps_at_1000(suite: Suite) -> None:
    texts = [
        {"text": "Soy periodista de El País, ¿podrían darnos una declaración?"},
        {"text": "Former employee here, still waiting on my last paycheck", "lang": "en"},
        {"text": "🔥GANA 500€ AL DÍA DESDE CASA🔥 escríbeme 💰💰"},
        {"text": "ok"},
    ]
    response = await suite.post("/v1/intents/classify/batch", {"items": texts})
    assert response.status_code == 200, response.text
    assert [result["intent"] for result in response.json()["results"]] == [
        "press_inquiry",
        "employee_matter",
        "spam",
        "other",
    ]
    full = await suite.post(
        "/v1/intents/classify/batch",
        {"items": [{"text": f"thanks for the help, order {n}"} for n in range(1000)], "lang": "en"},
    )
    assert full.status_code == 200
    assert len(full.json()["results"]) == 1000
    over = await suite.post(
        "/v1/intents/classify/batch", {"items": [{"text": "hola"}] * 1001, "lang": "es"}
    )
    assert assert_problem(over, 413)["field"] == "items"


async def test_bad_input_is_4xx_problem_json(suite: Suite) -> None:
    for blank in ("", "   \n\t "):
        body = assert_problem(await suite.post("/v1/intents/classify", {"text": blank}), 422)
        assert body["errors"][0]["field"] == "text"  # type: ignore[index]
    too_long = await suite.post("/v1/intents/classify", {"text": "queja " * 11_000})
    assert assert_problem(too_long, 413)["field"] == "text"
    unknown = assert_problem(
        await suite.post("/v1/intents/classify", {"text": "hola", "lang": "fr"}), 422
    )
    assert "'es'" in str(unknown["detail"])
    assert "'en'" in str(unknown["detail"])
    item = await suite.post(
        "/v1/intents/classify/batch", {"items": [{"text": "hola"}, {"text": " "}]}
    )
    assert assert_problem(item, 422)["errors"][0]["field"] == "items.1.text"  # type: ignore[index]
    too_long_item = await suite.post(
        "/v1/intents/classify/batch", {"items": [{"text": "hi"}, {"text": "é" * 40_000}]}
    )
    assert assert_problem(too_long_item, 413)["field"] == "items.1.text"
    missing = await suite.post("/v1/intents/classify", {"lang": "es"})
    assert_problem(missing, 422)
    not_json = await suite.client.post(
        f"{suite.gateway}/v1/intents/classify",
        content=b"{nope",
        headers={**suite.reader, "Content-Type": "application/json"},
    )
    assert_problem(not_json, 422)


async def test_another_language_is_classified_with_lower_confidence(suite: Suite) -> None:
    french = await suite.post(
        "/v1/intents/classify",
        {"text": "Bonjour, je voudrais savoir où est ma commande, merci beaucoup"},
    )
    assert french.status_code == 200, french.text
    assert french.json()["lang"] == "fr"
    assert french.json()["confidence"] <= 0.5
    assert french.json()["intent"] in {item.value for item in Intent}


async def test_scopes_and_principal(suite: Suite) -> None:
    assert_problem(
        await suite.post("/v1/intents/classify", {"text": "hola"}, headers=suite.writer_only), 403
    )
    assert_problem(
        await suite.client.post(f"{suite.gateway}/v1/intents/classify", json={"text": "hi"}), 401
    )
    # Straight to the service without the gateway's signed principal: refused.
    direct = await suite.client.post(f"{suite.routing}/v1/intents/classify", json={"text": "hi"})
    assert_problem(direct, 401)


async def test_corrections_export_as_json_lines_and_csv_by_brand(suite: Suite) -> None:
    brand, other_brand = f"brand-{uuid.uuid4().hex[:8]}", f"brand-{uuid.uuid4().hex[:8]}"
    await suite.record(
        brand,
        "Trabajé aquí hasta marzo y no me pagan el finiquito",
        Intent.complaint,
        lang="es",
        channel="facebook",
        case_id=str(uuid.uuid4()),
    )
    # A later correction of the same text replaces the label instead of adding a row.
    await suite.record(
        brand,
        "Trabajé aquí hasta marzo y no me pagan el finiquito",
        Intent.employee_matter,
        previous_intent=Intent.complaint,
        lang="es",
        channel="facebook",
    )
    await suite.record(
        brand, 'We sell packaging, "eco", and want to supply you', Intent.partnership, lang="en"
    )
    await suite.record(other_brand, "not this brand's", Intent.other)

    lines = await suite.client.get(
        f"{suite.gateway}/v1/intents/examples", params={"brand_id": brand}, headers=suite.reader
    )
    assert lines.status_code == 200, lines.text
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in lines.text.splitlines()]
    assert [(row["intent"], row["previous_intent"]) for row in rows] == [
        ("employee_matter", "complaint"),
        ("partnership", None),
    ]
    assert {row["brand_id"] for row in rows} == {brand}

    as_csv = await suite.client.get(
        f"{suite.gateway}/v1/intents/examples",
        params={"brand_id": brand},
        headers={**suite.reader, "Accept": "text/csv"},
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [row["text"] for row in table] == [row["text"] for row in rows]
    # Both formats feed the retraining script.
    for content in (lines.text, as_csv.text):
        posts = parse_examples(content)
        assert [(post.intent, post.lang) for post in posts] == [
            (Intent.employee_matter, "es"),
            (Intent.partnership, "en"),
        ]

    empty = await suite.client.get(
        f"{suite.gateway}/v1/intents/examples",
        params={"brand_id": "no-such-brand"},
        headers=suite.reader,
    )
    assert (empty.status_code, empty.text) == (200, "")
    # A brand id outside Latin-1 still makes a valid download header (it was a 500).
    odd = await suite.client.get(
        f"{suite.gateway}/v1/intents/examples",
        params={"brand_id": "marca-añil-\U0003d3cd"},
        headers=suite.reader,
    )
    assert odd.status_code == 200, odd.text
    assert "filename*=UTF-8''intent-examples-marca-a%C3%B1il-" in odd.headers["content-disposition"]
    refused = await suite.client.get(
        f"{suite.gateway}/v1/intents/examples",
        params={"brand_id": brand},
        headers={**suite.reader, "Accept": "application/xml"},
    )
    assert assert_problem(refused, 406)["field"] == "Accept"
    assert_problem(
        await suite.client.get(f"{suite.gateway}/v1/intents/examples", headers=suite.reader), 422
    )


async def test_a_key_limited_to_other_brands_cannot_export_a_brands_examples(suite: Suite) -> None:
    brand, other_brand = f"brand-{uuid.uuid4().hex[:8]}", f"brand-{uuid.uuid4().hex[:8]}"
    await suite.record(brand, "¿Cuánto cuesta el envío a Canarias?", Intent.question, lang="es")
    response = await suite.client.post(
        f"{suite.gateway}/v1/api-keys",
        json={"name": "other brand", "scopes": ["cases:read"], "brands": [other_brand]},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 201, response.text
    limited = {"Authorization": f"Bearer {response.json()['key']}"}
    refused = await suite.client.get(
        f"{suite.gateway}/v1/intents/examples", params={"brand_id": brand}, headers=limited
    )
    assert assert_problem(refused, 403)["field"] == "brand_id"
    own = await suite.client.get(
        f"{suite.gateway}/v1/intents/examples", params={"brand_id": other_brand}, headers=limited
    )
    assert (own.status_code, own.text) == (200, "")


async def test_openapi_documents_the_intents_in_both_languages(suite: Suite) -> None:
    document = (await suite.client.get(f"{suite.routing}/openapi.json")).json()
    operation = document["paths"]["/v1/intents/classify"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert {"es", "en", "other-language"} <= set(examples)
    assert "press_inquiry" in operation["description"]
    assert "periodista" in operation["description"]
