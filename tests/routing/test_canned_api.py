"""Canned replies over real HTTP: the gateway in front of routing, routing calling the
guidelines service's check API (PostgreSQL, Kafka), in Spanish and English."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update

from scripts.infra import free_port
from services.gateway.main import create_app as create_gateway
from services.guidelines.config import GuidelinesSettings
from services.guidelines.main import create_app as create_guidelines
from services.routing.cases.models import Case
from services.routing.config import RoutingSettings
from services.routing.main import create_app as create_routing
from shared.auth import Principal, PrincipalAuth
from tests.conftest import serve
from tests.fixtures.services import gateway_settings, migrated_database
from tests.routing.cases_support import Routing, interaction, open_case, seed_team
from tests.routing.team_fixtures import ADMIN_KEY, KEYS, SECRET, Suite, assert_problem, brand

pytestmark = pytest.mark.integration

GUIDELINE = {
    "packs": ["standards", "tone_style", "legal", "hr"],
    "formality": "usted",
    "competitors": [{"name": "Globex"}],
}
DELAY_ES = (
    "Hola {{customer_name}}, sentimos mucho el retraso del pedido {{order_id}}. "
    "Lo revisamos hoy mismo y le escribimos. Un saludo, {{agent_name}}."
)
DELAY_EN = (
    "Hi {{customer_name}}, sorry about order {{order_id}}. We are looking into it and will "
    "write back today. {{agent_name}}"
)


@dataclass
class Canned:
    suite: Suite
    routing: Routing

    async def create(self, body: dict[str, Any], *, key: str = "writer") -> httpx.Response:
        return await self.suite.post("/v1/canned-replies", body, key=key)

    async def created(self, body: dict[str, Any], *, key: str = "writer") -> dict[str, Any]:
        response = await self.create(body, key=key)
        assert response.status_code == 201, response.text
        item: dict[str, Any] = response.json()
        return item

    async def publish(self, brand_id: str) -> None:
        response = await self.suite.put(f"/v1/guidelines/{brand_id}", GUIDELINE, key="admin")
        assert response.status_code in (200, 201), response.text


@contextlib.asynccontextmanager
async def canned_suite(
    postgres_url: str, kafka_bootstrap: str, *, canned_defaults: bool = False
) -> AsyncIterator[Canned]:
    databases = {
        name: await migrated_database(postgres_url, name)
        for name in ("gateway", "routing", "guidelines")
    }
    guidelines_app = create_guidelines(
        GuidelinesSettings(
            database_url=databases["guidelines"],
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=SecretStr(SECRET),
        )
    )
    async with serve(guidelines_app) as guidelines_url:
        routing_app = create_routing(
            RoutingSettings(
                database_url=databases["routing"],
                kafka_bootstrap=kafka_bootstrap,
                internal_secret=SecretStr(SECRET),
                guidelines_url=guidelines_url,
                case_scheduler_enabled=False,
                # These tests count and rank a brand's own canned replies; the defaults have
                # theirs (tests/routing/test_canned_defaults.py).
                canned_defaults=canned_defaults,
            )
        )
        async with serve(routing_app) as routing_url:
            gateway_app = create_gateway(
                gateway_settings(
                    databases["gateway"],
                    internal_secret=SecretStr(SECRET),
                    admin_key=SecretStr(ADMIN_KEY),
                    routing_url=routing_url,
                    guidelines_url=guidelines_url,
                    key_cache_seconds=0,
                )
            )
            async with (
                serve(gateway_app) as gateway_url,
                httpx.AsyncClient(timeout=60) as client,
            ):
                suite = Suite(gateway_url, routing_app, client)
                for name, (scopes, departments, brands) in KEYS.items():
                    body: dict[str, Any] = {"name": f"canned test {name}", "scopes": scopes}
                    if departments is not None:
                        body["departments"] = departments
                    if brands is not None:
                        body["brands"] = brands
                    response = await suite.post("/v1/api-keys", body, key="admin")
                    assert response.status_code == 201, response.text
                    suite.keys[name] = {"Authorization": f"Bearer {response.json()['key']}"}
                routing = Routing(
                    routing_url, client, routing_app, kafka_bootstrap, databases["routing"]
                )
                yield Canned(suite, routing)


@pytest.fixture(scope="module")
async def canned(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Canned]:
    async with canned_suite(postgres_url, kafka_bootstrap) as running:
        yield running


def body(brand_id: str, **values: Any) -> dict[str, Any]:
    return {
        "brand_id": brand_id,
        "lang": "es",
        "code": "retraso",
        "title": "Retraso en un pedido",
        "text": DELAY_ES,
        "intents": ["complaint"],
        **values,
    }


async def test_save_checks_the_guideline_and_keeps_warnings(canned: Canned) -> None:
    brand_id = brand()
    await canned.publish(brand_id)
    clean = await canned.created(body(brand_id))
    assert clean["check_status"] == "passed"
    assert clean["warnings"] == []
    assert clean["guideline_version"] == 1
    assert clean["variables"] == ["customer_name", "order_id", "agent_name"]

    # tú under a brand that says usted: a warning, stored with its span on the stored text.
    informal = "Hola {{customer_name}}, sentimos el retraso. Escríbenos por DM y lo revisamos."
    warned = await canned.created(body(brand_id, code="retraso-dm", text=informal))
    assert warned["check_status"] == "warnings"
    (warning,) = [w for w in warned["warnings"] if w["rule_id"] == "tone.es.formality-brand"]
    assert warning["level"] == "warning"
    assert informal[warning["span"]["start"] : warning["span"]["end"]] == "Escríbenos"
    again = await canned.suite.get(f"/v1/canned-replies/{warned['id']}")
    assert again.json()["warnings"] == warned["warnings"]

    english = await canned.created(body(brand_id, lang="en", text=DELAY_EN, title="Delay"))
    assert english["code"] == "retraso"  # the same code in another language is another reply
    assert english["check_status"] == "passed"


async def test_error_level_violations_refuse_the_save(canned: Canned) -> None:
    brand_id = brand()
    await canned.publish(brand_id)
    rude_es = "Hola {{customer_name}}, Globex es una basura, nosotros somos mejores."
    response = await canned.create(body(brand_id, code="globex", text=rude_es))
    problem = assert_problem(response, 422, "text")
    assert problem["reason"] == "guideline_violation"
    assert problem["detail_es"]
    errors = [v for v in problem["violations"] if v["level"] == "error"]
    assert [v["rule_id"] for v in errors] == ["legal.competitor-criticism"]
    assert rude_es[errors[0]["span"]["start"] : errors[0]["span"]["end"]] == "Globex"

    rude_en = "Hi {{customer_name}}, Globex are liars and cheated you."
    response = await canned.create(body(brand_id, code="globex", lang="en", text=rude_en))
    problem = assert_problem(response, 422, "text")
    assert {"legal.competitor-criticism", "legal.en.defamation"} <= {
        v["rule_id"] for v in problem["violations"] if v["level"] == "error"
    }
    listed = await canned.suite.get("/v1/canned-replies", params={"brand_id": brand_id})
    assert listed.json()["items"] == []  # nothing was saved


async def test_unknown_variables_are_named(canned: Canned) -> None:
    brand_id = brand()
    text = "Hola {{nombre}}, su pedido {{order_id}} sale hoy. {{ firma }} {{nombre}}"
    problem = assert_problem(await canned.create(body(brand_id, text=text)), 422, "text")
    assert problem["unknown_variables"] == ["nombre", "firma"]
    assert "nombre" in problem["detail"]
    assert "nombre" in problem["detail_es"]
    unclosed = assert_problem(
        await canned.create(body(brand_id, text="Hi {{customer_name}, thanks", lang="en")), 422
    )
    assert unclosed["unknown_variables"]


async def test_codes_are_unique_per_brand_and_language(canned: Canned) -> None:
    brand_id = brand()
    await canned.created(body(brand_id))  # no guideline yet: saved unchecked
    assert_problem(await canned.create(body(brand_id, title="Otra")), 409, "code")
    other_brand = brand()
    assert (await canned.create(body(other_brand))).status_code == 201


async def test_a_brand_without_a_guideline_saves_unchecked(canned: Canned) -> None:
    saved = await canned.created(body(brand()))
    assert saved["check_status"] == "unchecked"
    assert saved["guideline_version"] is None


async def test_guidelines_unreachable_is_503_and_nothing_is_saved(
    canned: Canned, postgres_url: str, kafka_bootstrap: str
) -> None:
    database = await migrated_database(postgres_url, "routing")
    app = create_routing(
        RoutingSettings(
            database_url=database,
            kafka_bootstrap=kafka_bootstrap,
            internal_secret=SecretStr(SECRET),
            guidelines_url=f"http://127.0.0.1:{free_port()}",
            guidelines_timeout_seconds=2,
            case_scheduler_enabled=False,
            consumers_enabled=False,
            canned_defaults=False,
        )
    )
    writer = PrincipalAuth(
        Principal(key_id="k", scopes=frozenset({"team:write", "cases:read"})), SECRET, "routing"
    )
    brand_id = brand()
    async with serve(app) as url, httpx.AsyncClient(timeout=30, auth=writer) as client:
        response = await client.post(f"{url}/v1/canned-replies", json=body(brand_id))
        problem = assert_problem(response, 503)
        assert problem["reason"] == "guidelines_unreachable"
        assert response.headers["retry-after"]
        listed = await client.get(f"{url}/v1/canned-replies", params={"brand_id": brand_id})
        assert listed.json()["items"] == []


async def test_lists_filter_and_page(canned: Canned) -> None:
    brand_id = brand()
    for code, lang, intents in [
        ("a-retraso", "es", ["complaint"]),
        ("b-gracias", "es", ["praise"]),
        ("c-delay", "en", ["complaint"]),
        ("d-hola", "es", []),
    ]:
        text = DELAY_ES if lang == "es" else DELAY_EN
        await canned.created(body(brand_id, code=code, lang=lang, intents=intents, text=text))

    async def codes(**params: Any) -> list[str]:
        response = await canned.suite.get(
            "/v1/canned-replies", params={"brand_id": brand_id, **params}
        )
        assert response.status_code == 200, response.text
        return [item["code"] for item in response.json()["items"]]

    assert await codes(lang="es") == ["a-retraso", "b-gracias", "d-hola"]
    assert await codes(intent="complaint") == ["c-delay", "a-retraso"]  # en sorts first
    assert await codes(code="b-gracias") == ["b-gracias"]
    assert await codes(lang="en", intent="praise") == []
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"brand_id": brand_id, "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = (await canned.suite.get("/v1/canned-replies", params=params)).json()
        seen += [item["code"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["c-delay", "a-retraso", "b-gracias", "d-hola"]
    bad = await canned.suite.get("/v1/canned-replies", params={"cursor": "bm90LWEtY3Vyc29y"})
    assert_problem(bad, 400, "cursor")
    assert_problem(await canned.suite.get("/v1/canned-replies", params={"intent": "nope"}), 422)


async def test_hr_replies_are_visible_to_hr_keys_only(canned: Canned) -> None:
    brand_id = brand()
    hr_body = body(
        brand_id,
        code="baja",
        title="Baja laboral",
        text="Hola {{customer_name}}, le escribimos por mensaje privado para su consulta.",
        intents=["employee_matter"],
        department="hr",
    )
    problem = assert_problem(await canned.create(hr_body), 403, "department")
    assert problem["reason"] == "hr_only"
    hr = await canned.created(hr_body, key="hr_writer")
    assert_problem(await canned.suite.get(f"/v1/canned-replies/{hr['id']}"), 404)
    assert (await canned.suite.get(f"/v1/canned-replies/{hr['id']}", key="hr_writer")).is_success
    # An HR intent makes it HR's even without the department.
    hr_intent = await canned.created(
        {**hr_body, "code": "empleo", "department": None, "intents": ["job_inquiry"]},
        key="admin",
    )
    listed = await canned.suite.get("/v1/canned-replies", params={"brand_id": brand_id})
    assert listed.json()["items"] == []
    hr_listed = await canned.suite.get(
        "/v1/canned-replies", params={"brand_id": brand_id}, key="hr_writer"
    )
    assert {item["id"] for item in hr_listed.json()["items"]} == {hr["id"], hr_intent["id"]}
    # A key limited to customer service writes only its department's.
    assert_problem(
        await canned.create(body(brand_id, code="cs"), key="cs_writer"), 403, "department"
    )
    await canned.created(body(brand_id, code="cs", department="customer_service"), key="cs_writer")
    assert_problem(await canned.create(body(brand_id), key="other_brand"), 403, "brand_id")
    assert_problem(await canned.create(body(brand_id), key="reader"), 403)
    assert_problem(await canned.create(body(brand_id, department="nope")), 404, "department")


async def test_change_rechecks_and_delete(canned: Canned) -> None:
    brand_id = brand()
    await canned.publish(brand_id)
    saved = await canned.created(body(brand_id))
    path = f"/v1/canned-replies/{saved['id']}"
    rude = {"text": "Hola {{customer_name}}, Globex es una basura, nosotros somos mejores."}
    assert_problem(await canned.suite.patch(path, rude), 422, "text")
    assert (await canned.suite.get(path)).json()["text"] == DELAY_ES  # unchanged
    changed = await canned.suite.patch(path, {"enabled": False, "title": "Retraso (antiguo)"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    assert changed.json()["enabled"] is False
    assert_problem(await canned.suite.patch(path, {"title": "x", "version": 1}), 409, "version")
    unknown = {"text": "Hola {{cliente}}"}
    assert_problem(await canned.suite.patch(path, unknown), 422, "text")
    assert (await canned.suite.delete(path)).status_code == 204
    assert_problem(await canned.suite.get(path), 404)


async def test_suggestions_fill_rank_and_fall_back(canned: Canned) -> None:
    brand_id = brand()
    connection = str(uuid.uuid4())
    await seed_team(
        canned.routing.sessions,
        brand_id,
        [{"name": "Lucía Martín", "departments": ["customer_service"]}],
        connection_id=connection,
    )
    specific = await canned.created(body(brand_id, department="customer_service"))
    generic = await canned.created(
        body(
            brand_id, code="hola", intents=[], text="Hola {{customer_name}}, gracias por escribir."
        )
    )
    await canned.created(body(brand_id, code="gracias", intents=["praise"]))
    await canned.created(body(brand_id, code="delay", lang="en", text=DELAY_EN))
    hr_flavoured = await canned.created(
        body(brand_id, code="rrhh", intents=["complaint", "employee_matter"]), key="admin"
    )
    item = interaction(
        brand_id,
        "Mi pedido nº 88231 llegó roto y nadie me responde. Muy decepcionada.",
        connection_id=connection,
    )
    case = await open_case(canned.routing, item)
    async with canned.routing.sessions() as session, session.begin():
        await session.execute(
            update(Case)
            .where(Case.id == case.id)
            .values(intent="complaint", department="customer_service")
        )
    response = await canned.suite.get(f"/v1/cases/{case.id}/suggestions")
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["lang"] == "es"
    assert result["fallback"] is False
    ids = [suggestion["canned_reply_id"] for suggestion in result["items"]]
    assert ids == [specific["id"], generic["id"]]  # intent + department first; no praise, no HR
    first = result["items"][0]
    assert first["text"] == (
        "Hola Marta, sentimos mucho el retraso del pedido 88231. "
        "Lo revisamos hoy mismo y le escribimos. Un saludo, Lucía Martín."
    )
    assert first["missing_variables"] == []
    assert first["variables"]["order_id"] == "88231"
    admin = (await canned.suite.get(f"/v1/cases/{case.id}/suggestions", key="admin")).json()
    assert hr_flavoured["id"] in [s["canned_reply_id"] for s in admin["items"]]

    # An English case about praise: no English answer fits, the Spanish one is offered, flagged.
    praise = interaction(brand_id, "Love the new app, thanks!", lang="en", connection_id=connection)
    praise_case = await open_case(canned.routing, praise)
    async with canned.routing.sessions() as session, session.begin():
        await session.execute(
            update(Case)
            .where(Case.id == praise_case.id)
            .values(intent="praise", department="marketing", assignee_id=None)
        )
    fallback = (await canned.suite.get(f"/v1/cases/{praise_case.id}/suggestions")).json()
    assert fallback["fallback"] is True
    assert fallback["lang"] == "es"
    assert [s["code"] for s in fallback["items"]] == ["gracias", "hola"]
    gracias = fallback["items"][0]
    assert gracias["fallback"] is True
    assert gracias["missing_variables"] == ["order_id", "agent_name"]
    assert "{{order_id}}" in gracias["text"]
    assert "Marta" in gracias["text"]
    assert_problem(await canned.suite.get("/v1/cases/nope/suggestions"), 404)
    assert_problem(await canned.suite.get(f"/v1/cases/{case.id}/suggestions", key="hr_writer"), 404)


async def test_idempotency_key_replays_the_saved_reply(canned: Canned) -> None:
    brand_id = brand()
    await canned.publish(brand_id)
    headers = {**canned.suite.headers("writer"), "Idempotency-Key": str(uuid.uuid4())}
    url = f"{canned.suite.gateway}/v1/canned-replies"
    first = await canned.suite.client.post(url, json=body(brand_id), headers=headers)
    assert first.status_code == 201, first.text
    again = await canned.suite.client.post(url, json=body(brand_id), headers=headers)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replay"] == "true"
    assert again.json() == first.json()
    other = await canned.suite.client.post(url, json=body(brand_id, code="x"), headers=headers)
    assert_problem(other, 409, "Idempotency-Key")
    listed = await canned.suite.get("/v1/canned-replies", params={"brand_id": brand_id})
    assert [item["id"] for item in listed.json()["items"]] == [first.json()["id"]]
