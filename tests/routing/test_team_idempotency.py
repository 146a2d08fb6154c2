"""`Idempotency-Key` on the POSTs that create team and rules objects (departments, members,
accounts, SLA policies, rules), and the calendars list, through the gateway (real HTTP,
PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.routing.team_fixtures import Suite, assert_problem, brand, team_suite

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def suite(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Suite]:
    async with team_suite(postgres_url, kafka_bootstrap) as running:
        yield running


async def post(
    suite: Suite, path: str, body: object, idempotency_key: str, *, key: str = "writer"
) -> httpx.Response:
    headers = {**suite.headers(key), "Idempotency-Key": idempotency_key}
    return await suite.client.post(f"{suite.gateway}{path}", json=body, headers=headers)


def department(brand_id: str) -> dict[str, Any]:
    return {
        "brand_id": brand_id,
        "key": "logistics",
        "name_es": "Logística",
        "name_en": "Logistics",
    }


def member(brand_id: str) -> dict[str, Any]:
    return {
        "brand_id": brand_id,
        "name": "Lucía Martín",
        "email": "lucia@acme.example",
        "departments": ["customer_service"],
        "languages": ["es", "en"],
    }


def account(brand_id: str) -> dict[str, Any]:
    return {
        "brand_id": brand_id,
        "platform": "meta",
        "channel": "instagram",
        "external_account_id": "17841400000000000",
        "name": "@acme_es",
    }


def sla_policy(brand_id: str) -> dict[str, Any]:
    return {
        "brand_id": brand_id,
        "department": "customer_service",
        "priority": "high",
        "first_response_seconds": 3600,
    }


def rule(brand_id: str) -> dict[str, Any]:
    return {
        "brand_id": brand_id,
        "name": "Verificados negativos / Verified negative",
        "conditions": {"sentiment_labels": ["negative"], "verified": True},
        "actions": {"department": "pr", "priority": "high"},
    }


# path, body, the field a second request changes, and its other value
CREATES: list[tuple[str, Callable[[str], dict[str, Any]], str, object]] = [
    ("/v1/departments", department, "name_es", "Almacén"),
    ("/v1/members", member, "name", "Lucía M."),
    ("/v1/accounts", account, "name", "@acme_en"),
    ("/v1/sla-policies", sla_policy, "first_response_seconds", 60),
    ("/v1/rules", rule, "name", "Otra regla / Another rule"),
]


async def count(suite: Suite, path: str, brand_id: str, field: str, value: object) -> int:
    response = await suite.get(path, params={"brand_id": brand_id, "limit": 200})
    if response.status_code == 422:  # departments list takes no limit
        response = await suite.get(path, params={"brand_id": brand_id})
    assert response.status_code == 200, response.text
    return sum(1 for item in response.json()["items"] if item.get(field) == value)


@pytest.mark.parametrize(("path", "make", "field", "changed"), CREATES)
async def test_a_retry_replays_the_first_answer(
    suite: Suite, path: str, make: Callable[[str], dict[str, Any]], field: str, changed: object
) -> None:
    brand_id = brand()
    key = str(uuid.uuid4())
    body = make(brand_id)
    first = await post(suite, path, body, key)
    assert first.status_code == 201, first.text
    assert "idempotent-replay" not in first.headers
    again = await post(suite, path, body, key)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replay"] == "true"
    assert again.json() == first.json()
    assert await count(suite, path, brand_id, "id", first.json()["id"]) == 1
    assert await count(suite, path, brand_id, field, body[field]) == 1

    # The same key with another request is refused, and creates nothing.
    other = {**body, field: changed}
    problem = assert_problem(await post(suite, path, other, key), 409, "Idempotency-Key")
    assert "different request" in problem["detail"]
    assert await count(suite, path, brand_id, field, other[field]) == 0


async def test_keys_belong_to_their_api_key(suite: Suite) -> None:
    brand_id = brand()
    key = str(uuid.uuid4())
    assert (await post(suite, "/v1/departments", department(brand_id), key)).status_code == 201
    # Another API key with the same Idempotency-Key is another request: the department exists.
    response = await post(suite, "/v1/departments", department(brand_id), key, key="admin")
    assert_problem(response, 409, "key")
    assert "idempotent-replay" not in response.headers


async def test_a_refused_request_can_be_retried_corrected(suite: Suite) -> None:
    brand_id = brand()
    key = str(uuid.uuid4())
    nothing = {**sla_policy(brand_id), "first_response_seconds": None}
    assert_problem(await post(suite, "/v1/sla-policies", nothing, key), 422)
    corrected = await post(suite, "/v1/sla-policies", sla_policy(brand_id), key)
    assert corrected.status_code == 201, corrected.text
    assert "idempotent-replay" not in corrected.headers


async def test_calendars_list_every_department_the_key_may_see(suite: Suite) -> None:
    brand_id = brand()
    departments = await suite.departments(brand_id)
    madrid = {
        "timezone": "Europe/Madrid",
        "weekly_hours": {"monday": [["08:00", "15:00"]]},
        "holidays": ["2026-12-25"],
    }
    stored = await suite.put(
        f"/v1/departments/{departments['sales']['id']}/calendar", madrid, key="writer"
    )
    assert stored.status_code == 200, stored.text

    response = await suite.get("/v1/calendars", params={"brand_id": brand_id}, key="reader")
    assert response.status_code == 200, response.text
    listed = {item["department"]: item for item in response.json()["items"]}
    assert "hr" not in listed  # HR's only for keys limited to hr
    assert {"customer_service", "sales", "pr", "marketing"} <= set(listed)
    assert listed["sales"]["calendar"] == stored.json()
    assert listed["sales"]["department_id"] == departments["sales"]["id"]
    assert listed["sales"]["name_es"]

    hr = await suite.get("/v1/calendars", params={"brand_id": brand_id}, key="hr_writer")
    assert [item["department"] for item in hr.json()["items"]] == ["hr"]
    cs = await suite.get("/v1/calendars", params={"brand_id": brand_id}, key="cs_writer")
    assert [item["department"] for item in cs.json()["items"]] == ["customer_service"]
    other = await suite.get("/v1/calendars", params={"brand_id": brand_id}, key="other_brand")
    assert other.json()["items"] == []
    assert_problem(await suite.get("/v1/calendars", key="reader"), 422, "brand_id")
    assert_problem(
        await suite.get("/v1/calendars", params={"brand_id": brand_id}, key="no_scope"), 403
    )
