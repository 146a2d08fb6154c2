"""The rules API through the gateway (real HTTP, PostgreSQL): ordered, versioned rules checked
against the brand's departments and policies, department and HR limits, and `POST
/v1/rules/test` on Spanish and English interactions (intent classified in-process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.routing.service import load_routing_config
from shared.app import ServiceRuntime
from tests.routing.team_fixtures import Suite, assert_problem, brand, team_suite

pytestmark = pytest.mark.integration

VIP_NEGATIVE: dict[str, Any] = {
    "name": "Verificados negativos / Verified negative",
    "position": 35,
    "conditions": {"sentiment_labels": ["negative"], "verified": True},
    "actions": {"department": "pr", "priority": "high", "require_approval": True},
}


@pytest.fixture(scope="module")
async def suite(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Suite]:
    async with team_suite(postgres_url, kafka_bootstrap) as running:
        yield running


async def rules_of(suite: Suite, brand_id: str, key: str = "writer") -> list[dict[str, Any]]:
    response = await suite.get("/v1/rules", key=key, params={"brand_id": brand_id})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_default_rules_in_order_and_hr_rules_for_hr_only(suite: Suite) -> None:
    brand_id = brand()
    every = await rules_of(suite, brand_id, "admin")
    positions = [rule["position"] for rule in every]
    assert positions == sorted(positions)
    assert len(every) >= 5
    by_department = {rule["actions"].get("department") for rule in every}
    assert {"pr", "hr", "sales"} <= by_department
    hr_rules = {rule["id"] for rule in every if rule["actions"].get("department") == "hr"}
    assert hr_rules
    writer = {rule["id"] for rule in await rules_of(suite, brand_id)}
    assert writer == {rule["id"] for rule in every} - hr_rules
    # A key limited to HR sees HR's rules and the brand-wide ones (no department), no others.
    hr_view = await rules_of(suite, brand_id, "hr_writer")
    assert {rule["actions"].get("department") for rule in hr_view} <= {"hr", None}
    assert hr_rules <= {rule["id"] for rule in hr_view}
    assert await rules_of(suite, brand_id, "other_brand") == []
    (hr_rule,) = list(hr_rules)[:1]
    assert_problem(await suite.get(f"/v1/rules/{hr_rule}"), 404, "rule_id")
    assert_problem(await suite.get(f"/v1/rules/{hr_rule}", key="other_brand"), 404)
    assert (await suite.get(f"/v1/rules/{hr_rule}", key="hr_writer")).status_code == 200

    page = await suite.get("/v1/rules", params={"brand_id": brand_id, "limit": "2"})
    second = await suite.get(
        "/v1/rules",
        params={"brand_id": brand_id, "limit": "2", "cursor": page.json()["next_cursor"]},
    )
    ids = [rule["id"] for rule in page.json()["items"] + second.json()["items"]]
    assert ids == [rule["id"] for rule in await rules_of(suite, brand_id)][:4]


async def test_rule_versions_grow_on_every_change(suite: Suite) -> None:
    brand_id = brand()
    created = await suite.post("/v1/rules", {"brand_id": brand_id, **VIP_NEGATIVE})
    assert created.status_code == 201, created.text
    rule = created.json()
    assert (rule["version"], rule["position"], rule["actions"]["department"]) == (1, 35, "pr")
    path = f"/v1/rules/{rule['id']}"

    replaced = await suite.put(
        path, {**VIP_NEGATIVE, "conditions": {"verified": True, "min_followers": 1000}}
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["version"] == 2
    assert replaced.json()["conditions"]["min_followers"] == 1000
    assert replaced.json()["conditions"].get("sentiment_labels") is None
    patched = await suite.patch(path, {"enabled": False, "position": 1})
    assert (patched.json()["version"], patched.json()["enabled"], patched.json()["position"]) == (
        3,
        False,
        1,
    )
    assert (await rules_of(suite, brand_id))[0]["id"] == rule["id"]
    assert (await suite.get(path, key="reader")).json()["version"] == 3

    runtime: ServiceRuntime = suite.routing_app.state.runtime
    async with runtime.sessions() as session:
        config = await load_routing_config(session, brand_id)
    assert (rule["id"], 3) in config.rules.fingerprint

    assert (await suite.delete(path)).status_code == 204
    assert_problem(await suite.get(path), 404, "rule_id")
    assert_problem(await suite.put(path, VIP_NEGATIVE), 404, "rule_id")
    assert_problem(await suite.delete(path), 404)
    async with runtime.sessions() as session:
        after = await load_routing_config(session, brand_id)
    assert rule["id"] not in {rule_id for rule_id, _ in after.rules.fingerprint}


async def test_bad_rules_name_the_field(suite: Suite) -> None:
    brand_id = brand()
    base = {"brand_id": brand_id, **VIP_NEGATIVE}
    unknown = {**base, "conditions": {"colour": "red"}}
    assert_problem(await suite.post("/v1/rules", unknown), 422, "conditions.colour")
    unsafe = {**base, "conditions": {"pattern": "(a+)+$"}}
    problem = assert_problem(await suite.post("/v1/rules", unsafe), 422, "conditions.pattern")
    assert problem["errors"][0]["field"] == "conditions.pattern"
    nothing = {**base, "actions": {}}
    assert_problem(await suite.post("/v1/rules", nothing), 422, "actions")
    bad_action = {**base, "actions": {"department": "pr", "teleport": True}}
    assert_problem(await suite.post("/v1/rules", bad_action), 422, "actions.teleport")
    no_department = {**base, "actions": {"department": "astrology"}}
    problem = assert_problem(
        await suite.post("/v1/rules", no_department), 404, "actions.department"
    )
    assert "astrology" in problem["detail_es"]
    no_policy = {**base, "actions": {"department": "pr", "sla_policy_id": "nope"}}
    assert_problem(await suite.post("/v1/rules", no_policy), 404, "actions.sla_policy_id")
    assert_problem(await suite.post("/v1/rules", {**base, "position": -1}), 422, "position")
    assert_problem(await suite.put("/v1/rules/nope", VIP_NEGATIVE), 404, "rule_id")
    assert_problem(await suite.post("/v1/rules", base, key="reader"), 403)
    assert_problem(await suite.post("/v1/rules", base, key="other_brand"), 403, "brand_id")

    # Department limits: only one's own department's rules, never brand-wide ones.
    assert_problem(await suite.post("/v1/rules", base, key="cs_writer"), 403, "actions.department")
    brand_wide = {**base, "actions": {"tags": ["vip"]}}
    assert_problem(await suite.post("/v1/rules", brand_wide, key="cs_writer"), 403, "departments")
    own = {**base, "actions": {"department": "customer_service", "tags": ["vip"]}}
    assert (await suite.post("/v1/rules", own, key="cs_writer")).status_code == 201


async def suite_member_with_grant(suite: Suite, brand_id: str, **values: Any) -> dict[str, Any]:
    member = await suite.member(brand_id, availability="available", key="admin", **values)
    return member


async def try_rules(suite: Suite, body: dict[str, Any], key: str = "writer") -> dict[str, Any]:
    response = await suite.post("/v1/rules/test", body, key=key)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_spanish_negative_post_of_large_reach_goes_to_pr_with_approval(
    suite: Suite,
) -> None:
    brand_id = brand()
    press = await suite_member_with_grant(
        suite, brand_id, name="Prensa", departments=["pr"], languages=["es"]
    )
    await suite_member_with_grant(
        suite, brand_id, name="English only", departments=["pr"], languages=["en"]
    )
    result = await try_rules(
        suite,
        {
            "brand_id": brand_id,
            "interaction": {
                "channel": "x",
                "kind": "mention",
                "text": "@acme el pedido llegó roto y nadie responde. Qué vergüenza de servicio.",
                "author": {"handle": "marta_rg", "followers": 48000},
                "sentiment": {"label": "negative", "score": -0.8},
            },
        },
    )
    assert result["intent"]["source"] == "classified"
    assert result["intent"]["lang"] == "es"
    decision = result["decision"]
    assert (decision["department"], decision["department_source"]) == ("pr", "rule")
    assert decision["require_approval"] is True
    assert decision["priority"] in {"high", "urgent"}
    assert "large_reach" in decision["tags"]
    assert any("gran alcance" in rule["name"] for rule in result["matched"])
    matched_lines = [line for line in result["explanation"] if line["matched"]]
    assert matched_lines
    assert all(line["es"] and line["en"] for line in matched_lines)
    assert any("coincide" in line["es"] for line in matched_lines)
    assert result["assignee"] == press["id"]
    reasons = {row["member_id"]: row for row in result["candidates"]}
    assert reasons[press["id"]]["eligible"] is True
    (other,) = [row for row in result["candidates"] if row["member_id"] != press["id"]]
    assert other["reasons"] == ["language_not_spoken"]
    assert "idioma" in other["es"]
    # Nothing was opened or stored: the brand's rules are the defaults, unchanged.
    assert all(rule["version"] == 1 for rule in await rules_of(suite, brand_id, "admin"))


async def test_english_job_question_goes_to_hr_and_hides_hr_rules_from_others(
    suite: Suite,
) -> None:
    brand_id = brand()
    recruiter = await suite_member_with_grant(
        suite, brand_id, name="Recruiter", departments=["hr"], languages=["en"]
    )
    body = {
        "brand_id": brand_id,
        "interaction": {
            "channel": "linkedin",
            "text": "Hi! Are you hiring junior developers in Madrid? How do I apply for a job?",
        },
        "lang": "en",
    }
    result = await try_rules(suite, body, key="hr_writer")
    assert result["intent"]["intent"] == "job_inquiry"
    assert result["decision"]["department"] == "hr"
    assert [rule["id"] is not None for rule in result["matched"]] == [True]
    assert all(line["text"] and line["es"] is None for line in result["explanation"])
    assert result["assignee"] == recruiter["id"]

    hidden = await try_rules(suite, body, key="writer")
    assert hidden["decision"]["department"] == "hr"
    assert hidden["matched"] == [{"id": None, "version": None, "name": "(hidden / oculta)"}]
    assert hidden["assignee"] is None
    assert hidden["candidates"] == []
    hr_ids = {
        rule["id"]
        for rule in await rules_of(suite, brand_id, "hr_writer")
        if rule["actions"].get("department") == "hr"
    }
    assert hr_ids
    assert not {line["rule_id"] for line in hidden["explanation"]} & hr_ids


async def test_spam_closes_and_draft_rules_and_bad_input(suite: Suite) -> None:
    brand_id = brand()
    spam = await try_rules(
        suite,
        {"brand_id": brand_id, "interaction": {"text": "anything"}, "intent": "spam"},
    )
    assert spam["intent"] == {"intent": "spam", "confidence": 1.0, "lang": None, "source": "given"}
    assert spam["decision"]["close"] is True
    assert spam["decision"]["department"] is None

    draft = await try_rules(
        suite,
        {
            "brand_id": brand_id,
            "interaction": {"channel": "instagram", "text": "¿Tenéis la talla M en azul?"},
            "rules": [
                {
                    "name": "Instagram → ventas",
                    "conditions": {"channels": ["instagram"], "keywords": ["talla"]},
                    "actions": {"department": "sales", "tags": ["talla"]},
                }
            ],
            "lang": "es",
        },
    )
    assert draft["decision"]["department"] == "sales"
    assert draft["decision"]["tags"] == ["talla"]
    assert draft["matched"][0]["name"] == "Instagram → ventas"
    assert "coincide" in draft["explanation"][0]["text"]

    assert_problem(
        await suite.post("/v1/rules/test", {"brand_id": brand_id, "interaction": {"text": " "}}),
        422,
        "interaction.text",
    )
    assert_problem(
        await suite.post(
            "/v1/rules/test",
            {"brand_id": brand_id, "interaction": {"text": "hola", "colour": 1}},
        ),
        422,
        "interaction.colour",
    )
    assert_problem(
        await suite.post(
            "/v1/rules/test",
            {
                "brand_id": brand_id,
                "interaction": {"text": "x"},
                "rules": [
                    {"name": "r", "conditions": {"pattern": "(x+)+y"}, "actions": {"close": True}}
                ],
            },
        ),
        422,
        "rules.0.conditions.pattern",
    )
    assert_problem(
        await suite.post(
            "/v1/rules/test",
            {"brand_id": brand_id, "interaction": {"text": "hola"}},
            key="other_brand",
        ),
        404,
    )
    assert_problem(
        await suite.post(
            "/v1/rules/test",
            {"brand_id": brand_id, "interaction": {"text": "hola"}},
            key="no_scope",
        ),
        403,
    )
