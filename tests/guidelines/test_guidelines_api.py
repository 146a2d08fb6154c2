"""The guidelines service over real HTTP with PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from pydantic import SecretStr

from services.guidelines.config import GuidelinesSettings
from services.guidelines.main import create_app
from shared.auth import Principal, PrincipalAuth
from shared.events.envelope import Envelope
from shared.events.topics import GUIDELINES
from tests.fixtures.services import migrated_database, read_events, served

pytestmark = pytest.mark.integration

SECRET = "guidelines-test-internal-secret"


def as_key(*scopes: str) -> PrincipalAuth:
    """Signs each request as the gateway would for a key with `scopes`."""
    principal = Principal(key_id="editor-1", scopes=frozenset(scopes))
    return PrincipalAuth(principal, SECRET, "guidelines")


WRITER = as_key("guidelines:write", "guidelines:read")
READER = as_key("guidelines:read")

BRAND_GUIDELINE: dict[str, object] = {
    "packs": ["standards", "tone_style", "legal", "hr"],
    "formality": "usted",
    "competitors": [{"name": "Globex", "aliases": ["Globex Corp"]}],
    "terminology": [
        {"term": "e-mail", "preferred": "correo electrónico", "lang": "es", "status": "deprecated"}
    ],
    "channel_limits": {"x": 280},
}


@dataclass
class Guidelines:
    url: str
    client: httpx.AsyncClient
    bootstrap: str

    async def publish(self, brand: str, body: dict[str, object]) -> httpx.Response:
        return await self.client.put(f"{self.url}/v1/guidelines/{brand}", json=body, auth=WRITER)


@pytest.fixture(scope="module")
async def guidelines(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Guidelines]:
    database = await migrated_database(postgres_url, "guidelines")
    app = create_app(
        GuidelinesSettings(
            database_url=database,
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=SecretStr(SECRET),
            outbox_poll_interval_seconds=0.05,
        )
    )
    async with served(app) as (url, client):
        yield Guidelines(url, client, kafka_bootstrap)


async def guideline_events(bootstrap: str, brand: str, expected: int) -> list[Envelope]:
    return await read_events(bootstrap, GUIDELINES, lambda _: True, expected, key=brand)


async def test_publish_versions_and_check_in_spanish_and_english(guidelines: Guidelines) -> None:
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    first = await guidelines.publish(brand, BRAND_GUIDELINE)
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1
    assert first.json()["rule_count"] > 200
    second = await guidelines.publish(brand, {**BRAND_GUIDELINE, "formality": "tu"})
    assert second.json()["version"] == 2
    versions = await guidelines.client.get(
        f"{guidelines.url}/v1/guidelines/{brand}/versions", auth=READER
    )
    assert [item["version"] for item in versions.json()["items"]] == [2, 1]
    old = await guidelines.client.get(
        f"{guidelines.url}/v1/guidelines/{brand}/versions/1", auth=READER
    )
    assert old.json()["config"]["formality"] == "usted"  # versions are immutable

    bad_es = {
        "brand_id": brand,
        "channel": "x",
        "text": "Hola Marta, le pedimos disculpas. Globex es una basura, nosotros somos mejores!!",
        "context": {"inbound_sentiment": "negative", "intent": "complaint"},
    }
    response = await guidelines.client.post(
        f"{guidelines.url}/v1/guidelines/check", json=bad_es, auth=READER
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["passed"] is False
    assert result["guideline_version"] == 2
    assert result["lang"] == "es"  # detected
    rule_ids = {violation["rule_id"] for violation in result["violations"]}
    assert "legal.competitor-criticism" in rule_ids
    for violation in result["violations"]:
        start, end = violation["span"]["start"], violation["span"]["end"]
        assert bad_es["text"][start:end] == violation["match"]  # type: ignore[index]
        assert violation["message"]
    assert 0 <= result["score"] < 100
    assert set(result["goal_scores"]) >= {"standards", "tone", "legal"}

    good_en = {
        "brand_id": brand,
        "channel": "x",
        "lang": "en",
        "text": "Hi Sam, we're sorry about the delay. Please DM us your order number and "
        "we'll look into it today. Thanks for your patience!",
        "context": {"inbound_sentiment": "negative", "intent": "complaint"},
    }
    response = await guidelines.client.post(
        f"{guidelines.url}/v1/guidelines/check", json=good_en, auth=as_key("replies:write")
    )
    assert response.status_code == 200
    assert response.json()["passed"] is True, response.json()["violations"]

    events = await guideline_events(guidelines.bootstrap, brand, 4)
    assert [event.type for event in events] == [
        "guideline.published",
        "guideline.published",
        "guideline.check_completed",
        "guideline.check_completed",
    ]
    assert [getattr(event.data, "passed", None) for event in events[2:]] == [False, True]


async def test_the_brand_publish_policy_decides_passed(guidelines: Guidelines) -> None:
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    shouted = {
        "brand_id": brand,
        "channel": "x",
        "lang": "es",
        "text": "HOLA MARTA!!! TU PEDIDO YA ESTÁ EN CAMINO, LLEGA MAÑANA!!! GRACIAS POR TODO!!!",
    }
    calm = {**shouted, "text": "Hola Marta, tu pedido llega MAÑANA, te lo aseguramos."}
    url = f"{guidelines.url}/v1/guidelines/check"

    await guidelines.publish(brand, BRAND_GUIDELINE)  # default policy: min_score 60, errors
    response = await guidelines.client.post(url, json=shouted, auth=READER)
    body = response.json()
    assert response.status_code == 200, body
    assert body["score"] < 60
    assert body["passed"] is False
    assert [b["code"] for b in body["blockers"]] == ["blocking_violation", "score_below_minimum"]
    assert body["blockers"][0]["rule_ids"] == ["standards.caps.shouted-reply"]
    assert "mínimo" in body["blockers"][1]["message"]
    assert body["policy"] == {"min_score": 60.0, "blocking_levels": ["error"]}
    assert (await guidelines.client.post(url, json=calm, auth=READER)).json()["passed"]

    policy = {"min_score": 95, "blocking_levels": ["error", "warning"]}
    published = await guidelines.publish(brand, {**BRAND_GUIDELINE, "publish_policy": policy})
    assert published.json()["config"]["publish_policy"] == policy
    body = (await guidelines.client.post(url, json=calm, auth=READER)).json()
    assert body["passed"] is False
    assert {b["code"] for b in body["blockers"]} == {"score_below_minimum", "blocking_violation"}
    assert body["policy"] == policy
    assert body["guideline_version"] == 2

    refused = await guidelines.publish(
        brand, {**BRAND_GUIDELINE, "publish_policy": {"min_score": 101, "blocking_levels": ["x"]}}
    )
    assert refused.status_code == 422


@pytest.mark.parametrize(
    ("text", "lang", "words"),
    [
        (
            "Hola Marta, gracias por escribirnos. Nuestra fibra es mucho más estable y fiable "
            "que la que ofrece Globex, que falla cada dos por tres y engaña a sus clientes.",
            "es",
            ("Nunca", "competidor"),
        ),
        (
            "Hi Sam, thanks for getting in touch. Our fibre is far more reliable than the one "
            "Globex sells, and Globex keeps failing and deceiving its customers.",
            "en",
            ("Never", "competitor"),
        ),
    ],
)
async def test_criticism_of_a_declared_competitor_blocks_the_reply_in_its_language(
    guidelines: Guidelines, text: str, lang: str, words: tuple[str, ...]
) -> None:
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    await guidelines.publish(brand, BRAND_GUIDELINE)
    response = await guidelines.client.post(
        f"{guidelines.url}/v1/guidelines/check",
        json={"brand_id": brand, "channel": "facebook", "text": text},  # language detected
        auth=READER,
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["lang"] == lang
    criticism = [v for v in body["violations"] if v["rule_id"] == "legal.competitor-criticism"]
    assert criticism
    assert {v["level"] for v in criticism} == {"error"}
    assert all(word in criticism[0]["message"] for word in words)
    assert body["passed"] is False
    assert "legal.competitor-criticism" in body["blockers"][0]["rule_ids"]


async def test_batch_check(guidelines: Guidelines) -> None:
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    await guidelines.publish(brand, BRAND_GUIDELINE)
    texts = [
        {"text": "Gracias por escribirnos, Lucía. Le ayudamos por mensaje privado.", "lang": "es"},
        {"text": "This is shit and you know it", "lang": "en"},
    ]
    response = await guidelines.client.post(
        f"{guidelines.url}/v1/guidelines/check/batch",
        json={"brand_id": brand, "channel": "instagram", "items": texts},
        auth=READER,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["passed"], body["failed"]) == (1, 1)
    assert "tone.profanity" in {v["rule_id"] for v in body["results"][1]["violations"]}


async def test_errors_name_what_is_wrong(guidelines: Guidelines) -> None:
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    custom = (
        "id: custom\n"
        "rules:\n"
        "  - id: custom.ok\n"
        "    kind: existence\n"
        "    level: warning\n"
        "    goal: style\n"
        "    message: \"Avoid '%s'.\"\n"
        "    tokens: [obviamente]\n"
        "  - id: custom.broken\n"
        "    kind: no-such-kind\n"
        "    level: warning\n"
        "    goal: style\n"
        "    message: broken\n"
    )
    response = await guidelines.publish(brand, {**BRAND_GUIDELINE, "custom_rules": custom})
    assert response.status_code == 422
    problem = response.json()
    assert problem["rule_id"] == "custom.broken"
    assert problem["line"] == 10  # the line of the bad `kind`

    unknown = await guidelines.client.post(
        f"{guidelines.url}/v1/guidelines/check",
        json={"brand_id": "nobody-here", "text": "hola"},
        auth=READER,
    )
    assert unknown.status_code == 404

    await guidelines.publish(brand, BRAND_GUIDELINE)
    too_long = await guidelines.client.post(
        f"{guidelines.url}/v1/guidelines/check",
        json={"brand_id": brand, "lang": "en", "text": "a" * (64 * 1024 + 1)},
        auth=READER,
    )
    assert too_long.status_code == 413

    forbidden = await guidelines.client.put(
        f"{guidelines.url}/v1/guidelines/{brand}", json=BRAND_GUIDELINE, auth=READER
    )
    assert forbidden.status_code == 403


async def test_yaml_export_import_round_trip(guidelines: Guidelines) -> None:
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    await guidelines.publish(brand, BRAND_GUIDELINE)
    exported = await guidelines.client.get(
        f"{guidelines.url}/v1/guidelines/{brand}/export", auth=READER
    )
    assert exported.status_code == 200
    assert "Globex" in exported.text
    imported = await guidelines.client.put(
        f"{guidelines.url}/v1/guidelines/{brand}/import",
        content=exported.content,
        auth=WRITER,
        headers={"Content-Type": "application/yaml"},
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["version"] == 2
    assert (
        imported.json()["config"]
        == (
            await guidelines.client.get(
                f"{guidelines.url}/v1/guidelines/{brand}/versions/1", auth=READER
            )
        ).json()["config"]
    )
    broken = await guidelines.client.put(
        f"{guidelines.url}/v1/guidelines/{brand}/import",
        content=b"packs: [standards\nformality: usted\n",
        auth=WRITER,
        headers={"Content-Type": "application/yaml"},
    )
    assert broken.status_code == 422
    assert broken.json()["line"] is not None


async def test_import_takes_the_same_document_as_json(guidelines: Guidelines) -> None:
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    await guidelines.publish(brand, BRAND_GUIDELINE)
    exported = await guidelines.client.get(
        f"{guidelines.url}/v1/guidelines/{brand}/versions/1", auth=READER
    )
    config = exported.json()["config"]
    imported = await guidelines.client.put(
        f"{guidelines.url}/v1/guidelines/{brand}/import", json=config, auth=WRITER
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["version"] == 2
    assert imported.json()["config"] == config

    invalid = await guidelines.client.put(
        f"{guidelines.url}/v1/guidelines/{brand}/import",
        json={**config, "formality": "vos"},
        auth=WRITER,
    )
    assert invalid.status_code == 422, invalid.text
    assert invalid.headers["content-type"].startswith("application/problem+json")
    assert [error["field"] for error in invalid.json()["errors"]] == ["formality"]
    malformed = await guidelines.client.put(
        f"{guidelines.url}/v1/guidelines/{brand}/import",
        content=b'{"packs": [',
        auth=WRITER,
        headers={"Content-Type": "application/json"},
    )
    assert malformed.status_code == 422, malformed.text
    assert malformed.headers["content-type"].startswith("application/problem+json")
    neither = await guidelines.client.put(
        f"{guidelines.url}/v1/guidelines/{brand}/import",
        content=b"<guideline/>",
        auth=WRITER,
        headers={"Content-Type": "application/xml"},
    )
    assert neither.status_code == 415, neither.text


async def test_vale_style_import_becomes_custom_rules(guidelines: Guidelines) -> None:
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    await guidelines.publish(brand, BRAND_GUIDELINE)
    style = {
        "style": "Acme",
        "files": {
            "Hedging.yml": (
                "extends: existence\n"
                "message: \"Avoid '%s' in replies.\"\n"
                "level: warning\n"
                "ignorecase: true\n"
                "tokens:\n  - obviamente\n  - obviously\n"
            ),
            "Brand.yml": (
                "extends: substitution\n"
                "message: \"Use '%s' instead of '%s'.\"\n"
                "level: error\n"
                "swap:\n  acme corp: Acme\n"
            ),
            "Spelling.yml": "extends: spelling\nmessage: \"Did you really mean '%s'?\"\n",
        },
    }
    response = await guidelines.client.put(
        f"{guidelines.url}/v1/guidelines/{brand}/vale", json=style, auth=WRITER
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["imported"] == ["Acme.Brand", "Acme.Hedging"]
    assert len(body["skipped"]) == 1
    assert "Acme.Spelling" in body["skipped"][0]
    assert body["guideline"]["version"] == 2
    assert body["guideline"]["config"]["formality"] == "usted"  # the rest of the guideline stays

    check = await guidelines.client.post(
        f"{guidelines.url}/v1/guidelines/check",
        json={"brand_id": brand, "lang": "en", "text": "Obviously acme corp will help you."},
        auth=READER,
    )
    found = {v["rule_id"]: v["match"] for v in check.json()["violations"]}
    assert found["Acme.Hedging"] == "Obviously"
    assert found["Acme.Brand"] == "acme corp"
    assert check.json()["passed"] is False

    broken = await guidelines.client.put(
        f"{guidelines.url}/v1/guidelines/{brand}/vale",
        json={
            "style": "Acme",
            "files": {"Bad.yml": "extends: existence\nmessage: x\ntokens: [(a+)+]\n"},
        },
        auth=WRITER,
    )
    assert broken.status_code == 422
    assert broken.json()["rule_id"] == "Acme.Bad"
    assert "/tmp" not in broken.text


async def test_concurrent_publishes_of_one_brand_each_get_their_own_version(
    guidelines: Guidelines,
) -> None:
    """Published side by side, versions do not collide on the unique constraint (was a 500):
    each publish waits for the one before and gets the next number."""
    brand = f"brand-{uuid.uuid4().hex[:8]}"
    responses = await asyncio.gather(
        *(
            guidelines.publish(brand, {**BRAND_GUIDELINE, "channel_limits": {"x": 200 + n}})
            for n in range(6)
        )
    )
    assert [response.status_code for response in responses] == [201] * 6, [
        response.text for response in responses if response.status_code != 201
    ]
    assert sorted(response.json()["version"] for response in responses) == [1, 2, 3, 4, 5, 6]
    versions = await guidelines.client.get(
        f"{guidelines.url}/v1/guidelines/{brand}/versions", auth=READER
    )
    assert [item["version"] for item in versions.json()["items"]] == [6, 5, 4, 3, 2, 1]
