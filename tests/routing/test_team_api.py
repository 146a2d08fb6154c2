"""The team API through the gateway (real HTTP, PostgreSQL): departments and calendars,
members, accounts and grants, the responsibilities matrix, SLA policies; brand, department and
HR limits in lists, single reads and counts; and the routing snapshot built from it all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.routing.assignment import Availability
from services.routing.service import load_routing_config
from services.routing.team.snapshot import routing_config_cache
from shared.app import ServiceRuntime
from shared.events.cases import Priority
from tests.routing.team_fixtures import Suite, assert_problem, brand, team_suite

pytestmark = pytest.mark.integration

DEFAULT_KEYS = {"marketing", "customer_service", "sales", "pr", "corporate_comms", "hr", "legal"}


@pytest.fixture(scope="module")
async def suite(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Suite]:
    async with team_suite(postgres_url, kafka_bootstrap) as running:
        yield running


# ---------------------------------------------------------------------------- departments


async def test_default_departments_on_first_use_once_even_concurrently(suite: Suite) -> None:
    brand_id = brand()
    answers = await asyncio.gather(
        *(
            suite.get("/v1/departments", key="admin", params={"brand_id": brand_id})
            for _ in range(5)
        )
    )
    assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers]
    again = await suite.departments(brand_id, key="admin")
    assert set(again) == DEFAULT_KEYS
    assert (again["customer_service"]["name_es"], again["customer_service"]["name_en"]) == (
        "Atención al cliente",
        "Customer service",
    )
    assert again["hr"]["calendar"]["weekly_hours"]["monday"]
    # HR only for keys that may see it; a department limit shows only its departments.
    assert set(await suite.departments(brand_id)) == DEFAULT_KEYS - {"hr"}
    assert set(await suite.departments(brand_id, key="cs_writer")) == {"customer_service"}
    assert set(await suite.departments(brand_id, key="hr_writer")) == {"hr"}
    assert await suite.departments(brand_id, key="other_brand") == {}
    hr_id = again["hr"]["id"]
    assert_problem(await suite.get(f"/v1/departments/{hr_id}"), 404)
    assert_problem(await suite.get(f"/v1/departments/{hr_id}", key="other_brand"), 404)
    assert (await suite.get(f"/v1/departments/{hr_id}", key="hr_writer")).status_code == 200


async def test_department_create_update_and_calendar(suite: Suite) -> None:
    brand_id = brand()
    body = {
        "brand_id": brand_id,
        "key": "logistics",
        "name_es": "Logística",
        "name_en": "Logistics",
    }
    created = await suite.post("/v1/departments", body)
    assert created.status_code == 201, created.text
    department = created.json()
    assert department["member_count"] == 0
    assert_problem(await suite.post("/v1/departments", body), 409, "key")
    assert_problem(
        await suite.post("/v1/departments", {**body, "key": "x2"}, key="cs_writer"),
        403,
        "departments",
    )
    assert_problem(await suite.post("/v1/departments", {**body, "key": "x3"}, key="reader"), 403)
    assert_problem(
        await suite.post("/v1/departments", {**body, "key": "x4"}, key="other_brand"),
        403,
        "brand_id",
    )

    path = f"/v1/departments/{department['id']}"
    backwards = {"timezone": "Europe/Madrid", "weekly_hours": {"monday": [["18:00", "09:00"]]}}
    problem = assert_problem(
        await suite.put(f"{path}/calendar", backwards), 422, "calendar.weekly_hours.monday.0"
    )
    assert problem["detail_es"]
    nowhere = {"timezone": "Mars/Olympus", "weekly_hours": {"monday": [["09:00", "17:00"]]}}
    assert_problem(await suite.put(f"{path}/calendar", nowhere), 422, "calendar.timezone")
    never = {"timezone": "Europe/Madrid", "weekly_hours": {}}
    assert_problem(await suite.patch(path, {"calendar": never}), 422, "calendar.weekly_hours")
    assert_problem(await suite.put(f"{path}/calendar", {"timezone": "UTC"}), 422, "weekly_hours")

    calendar = {
        "timezone": "America/Mexico_City",
        "weekly_hours": {"mon": [["08:00", "16:00"]], "saturday": [["10:00", "14:00"]]},
        "holidays": ["2026-12-25", "2026-12-25"],
    }
    stored = await suite.put(f"{path}/calendar", calendar)
    assert stored.status_code == 200, stored.text
    assert stored.json()["holidays"] == ["2026-12-25"]
    assert (await suite.get(f"{path}/calendar", key="reader")).json() == stored.json()

    renamed = await suite.patch(path, {"name_es": "Almacén", "enabled": False})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name_es"], renamed.json()["enabled"]) == ("Almacén", False)
    assert renamed.json()["calendar"]["timezone"] == "America/Mexico_City"
    assert_problem(await suite.get("/v1/departments/no-such-department"), 404, "department_id")
    assert_problem(await suite.patch("/v1/departments/nope", {"enabled": True}), 404)


# -------------------------------------------------------------------------------- members


async def test_member_crud_and_bad_input(suite: Suite) -> None:
    brand_id = brand()
    member = await suite.member(
        brand_id,
        name="Ana Gómez",
        email="Ana.Gomez@Acme.example",
        role="lead",
        skills=["returns", "returns", "billing"],
        capacity=8,
        timezone="Europe/Madrid",
        weekly_hours={"monday": [["09:00", "17:00"]]},
        holidays=["2026-12-24"],
    )
    assert member["email"] == "ana.gomez@acme.example"
    assert member["skills"] == ["returns", "billing"]
    assert (member["departments"], member["open_cases"], member["availability"]) == (
        ["customer_service"],
        0,
        "offline",
    )
    path = f"/v1/members/{member['id']}"
    assert (await suite.get(path, key="reader")).json()["name"] == "Ana Gómez"

    updated = await suite.patch(path, {"capacity": 12, "departments": ["sales", "marketing"]})
    assert updated.status_code == 200, updated.text
    assert (updated.json()["capacity"], updated.json()["departments"]) == (
        12,
        ["marketing", "sales"],
    )
    assert_problem(await suite.patch(path, {"capacity": 0}), 422, "capacity")
    assert_problem(await suite.patch(path, {"capacity": 5000}), 422, "capacity")
    assert_problem(
        await suite.patch(path, {"weekly_hours": {"friday": [["10:00", "10:00"]]}}),
        422,
        "weekly_hours.friday.0",
    )
    assert_problem(await suite.patch(path, {"timezone": "Nowhere/City"}), 422, "timezone")
    assert_problem(
        await suite.patch(path, {"departments": ["sales", "astrology"]}), 404, "departments.1"
    )
    assert_problem(await suite.patch(path, {"languages": []}), 422, "languages")
    assert_problem(await suite.patch(path, {"role": "boss"}), 422, "role")
    assert_problem(
        await suite.post(
            "/v1/members",
            {
                "brand_id": brand_id,
                "name": "X",
                "email": "ana.gomez@acme.example",
                "departments": ["sales"],
                "languages": ["es"],
            },
        ),
        409,
        "email",
    )
    assert_problem(
        await suite.post(
            "/v1/members",
            {
                "brand_id": brand_id,
                "name": "X",
                "email": "x@acme.example",
                "departments": ["sales"],
                "languages": ["es"],
                "unknown": 1,
            },
        ),
        422,
        "unknown",
    )
    assert_problem(await suite.post("/v1/members", {"brand_id": brand_id}, key="reader"), 403)
    cleared = await suite.patch(path, {"weekly_hours": None})
    assert cleared.json()["weekly_hours"] is None

    assert (await suite.delete(path)).status_code == 204
    problem = assert_problem(await suite.get(path), 404, "member_id")
    assert "miembro" in problem["detail_es"]
    assert_problem(await suite.delete(path), 404)


async def test_member_limits_in_lists_single_reads_and_counts(suite: Suite) -> None:
    brand_id = brand()
    service_agent = await suite.member(brand_id, name="A cs", departments=["customer_service"])
    seller = await suite.member(brand_id, name="B sales", departments=["sales"])
    recruiter = await suite.member(brand_id, name="C hr", departments=["hr"], key="hr_writer")
    both = await suite.member(
        brand_id, name="D hr+cs", departments=["hr", "customer_service"], key="admin"
    )

    async def visible(key: str, **params: str) -> tuple[set[str], int]:
        response = await suite.get("/v1/members", key=key, params={"brand_id": brand_id, **params})
        assert response.status_code == 200, response.text
        return {item["name"] for item in response.json()["items"]}, response.json()["total"]

    assert await visible("admin") == ({"A cs", "B sales", "C hr", "D hr+cs"}, 4)
    assert await visible("writer") == ({"A cs", "B sales"}, 2)
    assert await visible("reader") == ({"A cs", "B sales"}, 2)
    assert await visible("cs_writer") == ({"A cs"}, 1)
    assert await visible("hr_writer") == ({"C hr", "D hr+cs"}, 2)
    assert await visible("other_brand") == (set(), 0)
    assert await visible("writer", department="customer_service") == ({"A cs"}, 1)
    assert await visible("hr_writer", department="hr") == ({"C hr", "D hr+cs"}, 2)
    assert_problem(
        await suite.get(
            "/v1/members", key="writer", params={"brand_id": brand_id, "department": "hr"}
        ),
        404,
        "department",
    )
    assert_problem(await suite.get("/v1/members", params={"department": "sales"}), 422, "brand_id")

    for key, member, status in [
        ("writer", recruiter, 404),
        ("writer", both, 404),
        ("cs_writer", seller, 404),
        ("cs_writer", service_agent, 200),
        ("hr_writer", both, 200),
        ("other_brand", service_agent, 404),
    ]:
        response = await suite.get(f"/v1/members/{member['id']}", key=key)
        assert response.status_code == status, (key, member["name"], response.text)
    # Changes follow the same limits: a hidden member is missing, another department forbidden.
    assert_problem(await suite.patch(f"/v1/members/{recruiter['id']}", {"capacity": 2}), 404)
    assert_problem(
        await suite.patch(
            f"/v1/members/{service_agent['id']}", {"departments": ["sales"]}, key="cs_writer"
        ),
        403,
        "departments.0",
    )
    assert_problem(
        await suite.post(
            "/v1/members",
            {
                "brand_id": brand_id,
                "name": "Z",
                "email": "z@acme.example",
                "departments": ["sales"],
                "languages": ["es"],
            },
            key="cs_writer",
        ),
        403,
        "departments.0",
    )
    assert_problem(
        await suite.post(
            "/v1/members",
            {
                "brand_id": brand_id,
                "name": "Z",
                "email": "z@acme.example",
                "departments": ["sales"],
                "languages": ["es"],
            },
            key="other_brand",
        ),
        403,
        "brand_id",
    )

    # Counts per department leave hidden members out too.
    departments = await suite.departments(brand_id)
    assert departments["customer_service"]["member_count"] == 1
    assert (await suite.departments(brand_id, key="admin"))["customer_service"]["member_count"] == 2
    assert (await suite.departments(brand_id, key="hr_writer"))["hr"]["member_count"] == 2


async def test_members_pages_with_cursor_and_filters(suite: Suite) -> None:
    brand_id = brand()
    created = [
        await suite.member(brand_id, name=f"M{index}", role="reviewer" if index % 2 else "agent")
        for index in range(5)
    ]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"brand_id": brand_id, "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await suite.get("/v1/members", params=params)).json()
        assert page["total"] == 5
        seen.extend(item["id"] for item in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (pages, seen) == (3, [member["id"] for member in created])
    reviewers = await suite.get("/v1/members", params={"brand_id": brand_id, "role": "reviewer"})
    assert [item["name"] for item in reviewers.json()["items"]] == ["M1", "M3"]
    assert reviewers.json()["total"] == 2
    assert_problem(await suite.get("/v1/members", params={"cursor": "bm9wZQ"}), 422, "cursor")
    assert_problem(await suite.get("/v1/members", params={"limit": "0"}), 422, "limit")


async def test_availability_by_a_lead_not_by_a_reader(suite: Suite) -> None:
    brand_id = brand()
    member = await suite.member(brand_id)
    path = f"/v1/members/{member['id']}/availability"
    problem = assert_problem(
        await suite.put(path, {"availability": "available"}, key="reader"), 403
    )
    assert problem["detail_es"]
    assert_problem(await suite.put(path, {"availability": "available"}, key="no_scope"), 403)
    assert_problem(await suite.put(path, {"availability": "asleep"}), 422, "availability")
    assert_problem(await suite.put(path, {"availability": "available"}, key="other_brand"), 404)
    changed = await suite.put(path, {"availability": "available"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["availability"] == "available"
    assert changed.json()["availability_changed_at"] > member["availability_changed_at"]
    assert_problem(
        await suite.put("/v1/members/nobody/availability", {"availability": "away"}), 404
    )


# ------------------------------------------------------------------- accounts and grants


async def test_accounts_and_grants(suite: Suite) -> None:
    brand_id = brand()
    body = {
        "brand_id": brand_id,
        "platform": "meta",
        "channel": "instagram",
        "external_account_id": "17841400000000000",
        "name": "@acme_es",
    }
    created = await suite.post("/v1/accounts", body)
    assert created.status_code == 201, created.text
    account = created.json()
    assert_problem(await suite.post("/v1/accounts", body), 409, "external_account_id")
    assert_problem(
        await suite.post("/v1/accounts", {**body, "external_account_id": "2"}, key="cs_writer"),
        403,
        "departments",
    )
    assert_problem(await suite.post("/v1/accounts", {**body, "channel": "myspace"}), 422, "channel")
    listed = await suite.get("/v1/accounts", key="reader", params={"brand_id": brand_id})
    assert [item["id"] for item in listed.json()["items"]] == [account["id"]]
    other = await suite.get("/v1/accounts", key="other_brand", params={"brand_id": brand_id})
    assert other.json()["items"] == []
    assert_problem(await suite.get(f"/v1/accounts/{account['id']}", key="other_brand"), 404)

    agent = await suite.member(brand_id, name="Agent")
    recruiter = await suite.member(brand_id, name="Recruiter", departments=["hr"], key="admin")
    grants = f"/v1/accounts/{account['id']}/grants"
    granted = await suite.put(f"{grants}/{agent['id']}", {"can_reply": True, "can_read": False})
    assert granted.status_code == 200, granted.text
    assert (granted.json()["can_read"], granted.json()["can_reply"]) == (True, True)
    assert (await suite.put(f"{grants}/{recruiter['id']}", {}, key="hr_writer")).status_code == 200
    assert_problem(await suite.put(f"{grants}/{recruiter['id']}", {}), 404, "member_id")
    assert_problem(await suite.put(f"{grants}/nobody", {}), 404, "member_id")
    assert_problem(await suite.put(f"/v1/accounts/nope/grants/{agent['id']}", {}), 404)

    names = {
        item["member_name"] for item in (await suite.get(grants, key="reader")).json()["items"]
    }
    assert names == {"Agent"}
    names = {
        item["member_name"] for item in (await suite.get(grants, key="hr_writer")).json()["items"]
    }
    assert names == {"Recruiter"}
    assert (await suite.delete(f"{grants}/{agent['id']}")).status_code == 204
    assert_problem(await suite.delete(f"{grants}/{agent['id']}"), 404, "member_id")

    renamed = await suite.patch(
        f"/v1/accounts/{account['id']}", {"name": "@acme", "enabled": False}
    )
    assert (renamed.json()["name"], renamed.json()["enabled"]) == ("@acme", False)
    assert (await suite.delete(f"/v1/accounts/{account['id']}")).status_code == 204
    assert_problem(await suite.get(f"/v1/accounts/{account['id']}"), 404, "account_id")


# ----------------------------------------------------------------------- responsibilities


async def test_responsibilities_who_owns_what_in_one_call(suite: Suite) -> None:
    brand_id = brand()
    agent = await suite.member(brand_id, name="Agent", departments=["customer_service"])
    await suite.member(brand_id, name="Recruiter", departments=["hr"], key="hr_writer")

    async def matrix(key: str = "writer") -> dict[str, dict[str, Any]]:
        response = await suite.get("/v1/responsibilities", key=key, params={"brand_id": brand_id})
        assert response.status_code == 200, response.text
        return {item["intent"]: item for item in response.json()["items"]}

    rows = await matrix("reader")
    assert len(rows) == 14
    assert rows["complaint"]["department"]["key"] == "customer_service"
    assert [member["id"] for member in rows["complaint"]["members"]] == [agent["id"]]
    assert rows["spam"]["department"] is None
    assert rows["purchase_intent"]["department"]["name_es"] == "Ventas"
    assert rows["job_inquiry"]["department"]["key"] == "hr"
    assert rows["job_inquiry"]["members"] == []
    assert [m["name"] for m in (await matrix("hr_writer"))["job_inquiry"]["members"]] == [
        "Recruiter"
    ]
    assert_problem(
        await suite.get("/v1/responsibilities", key="other_brand", params={"brand_id": brand_id}),
        404,
    )

    change = {"brand_id": brand_id, "responsibilities": {"feedback_idea": "sales", "other": None}}
    changed = await suite.put("/v1/responsibilities", change)
    assert changed.status_code == 200, changed.text
    rows = {item["intent"]: item for item in changed.json()["items"]}
    assert rows["feedback_idea"]["department"]["key"] == "sales"
    assert rows["other"]["department"] is None
    assert rows["complaint"]["department"]["key"] == "customer_service"
    bad = {"brand_id": brand_id, "responsibilities": {"praise": "astrology"}}
    assert_problem(await suite.put("/v1/responsibilities", bad), 404, "responsibilities.praise")
    unknown = {"brand_id": brand_id, "responsibilities": {"gossip": "sales"}}
    assert_problem(await suite.put("/v1/responsibilities", unknown), 422)
    assert_problem(await suite.put("/v1/responsibilities", change, key="cs_writer"), 403)
    assert_problem(await suite.put("/v1/responsibilities", change, key="reader"), 403)


# ---------------------------------------------------------------------------- SLA policies


async def test_sla_policies(suite: Suite) -> None:
    brand_id = brand()
    body = {
        "brand_id": brand_id,
        "department": "customer_service",
        "priority": "high",
        "first_response_seconds": 3600,
        "resolution_seconds": 86400,
    }
    created = await suite.post("/v1/sla-policies", body)
    assert created.status_code == 201, created.text
    policy = created.json()
    assert (policy["department"], policy["business_hours"]) == ("customer_service", True)
    assert_problem(await suite.post("/v1/sla-policies", body), 409, "priority")
    assert_problem(
        await suite.post("/v1/sla-policies", {**body, "department": "astrology"}),
        404,
        "department.0",
    )
    assert_problem(
        await suite.post(
            "/v1/sla-policies",
            {"brand_id": brand_id, "department": "sales", "priority": "low"},
        ),
        422,
        "first_response_seconds",
    )
    assert_problem(
        await suite.post("/v1/sla-policies", {**body, "first_response_seconds": 0}),
        422,
        "first_response_seconds",
    )
    pr = await suite.post("/v1/sla-policies", {**body, "department": "pr", "priority": "urgent"})
    assert pr.status_code == 201, pr.text
    assert_problem(
        await suite.post("/v1/sla-policies", {**body, "department": "pr"}, key="cs_writer"),
        403,
        "department.0",
    )

    def ids(response: Any) -> set[str]:
        return {item["id"] for item in response.json()["items"]}

    params = {"brand_id": brand_id}
    assert ids(await suite.get("/v1/sla-policies", params=params)) == {
        policy["id"],
        pr.json()["id"],
    }
    assert ids(await suite.get("/v1/sla-policies", key="cs_writer", params=params)) == {
        policy["id"]
    }
    assert ids(await suite.get("/v1/sla-policies", key="other_brand", params=params)) == set()
    assert_problem(await suite.get(f"/v1/sla-policies/{pr.json()['id']}", key="cs_writer"), 404)

    path = f"/v1/sla-policies/{policy['id']}"
    patched = await suite.patch(path, {"first_response_seconds": 1800, "resolution_seconds": None})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["first_response_seconds"], patched.json()["resolution_seconds"]) == (
        1800,
        None,
    )
    assert_problem(await suite.patch(path, {"first_response_seconds": None}), 422)
    assert (await suite.delete(path)).status_code == 204
    assert_problem(await suite.get(path), 404, "policy_id")


async def test_scopes(suite: Suite) -> None:
    brand_id = brand()
    assert_problem(
        await suite.get("/v1/departments", key="no_scope", params={"brand_id": brand_id}), 403
    )
    assert (
        await suite.get("/v1/departments", key="reader", params={"brand_id": brand_id})
    ).status_code == 200
    assert_problem(
        await suite.post(
            "/v1/sla-policies",
            {
                "brand_id": brand_id,
                "department": "sales",
                "priority": "low",
                "first_response_seconds": 60,
            },
            key="reader",
        ),
        403,
    )


# --------------------------------------------------------------------- the routing snapshot


async def test_load_routing_config_is_cached_until_a_change(suite: Suite) -> None:
    brand_id = brand()
    agent = await suite.member(
        brand_id, name="Agent", capacity=3, skills=["billing"], languages=["es"]
    )
    account = (
        await suite.post(
            "/v1/accounts",
            {
                "brand_id": brand_id,
                "platform": "x",
                "channel": "x",
                "external_account_id": "448",
                "name": "@acme",
            },
        )
    ).json()
    await suite.put(f"/v1/accounts/{account['id']}/grants/{agent['id']}", {"can_reply": True})
    policy = (
        await suite.post(
            "/v1/sla-policies",
            {
                "brand_id": brand_id,
                "department": "customer_service",
                "priority": "normal",
                "first_response_seconds": 600,
                "business_hours": False,
            },
        )
    ).json()
    runtime: ServiceRuntime = suite.routing_app.state.runtime

    async with runtime.sessions() as session:
        config = await load_routing_config(session, brand_id)
        loads = routing_config_cache.loads
        assert await load_routing_config(session, brand_id) is config
        assert routing_config_cache.loads == loads
    assert set(config.departments) == DEFAULT_KEYS
    assert config.responsibilities["complaint"] == "customer_service"
    assert config.responsibilities["spam"] is None
    assert len(config.rules.rules) >= 5
    assert config.departments["pr"].calendar.time_zone == "UTC"
    (candidate,) = config.candidates
    assert candidate.member_id == agent["id"]
    assert candidate.departments == frozenset({"customer_service"})
    assert (candidate.capacity, candidate.skills, candidate.languages) == (
        3,
        frozenset({"billing"}),
        frozenset({"es"}),
    )
    assert candidate.account_ids == frozenset({account["id"]})
    assert candidate.availability is Availability.offline
    assert config.candidates_by_department["customer_service"] == (candidate,)
    assert config.account_for("x", external_account_id="448") is not None
    assert config.sla_targets("customer_service", Priority.normal).first_response_seconds == 600
    assert config.sla_policies[policy["id"]].department == "customer_service"
    assert config.sla_targets("sales", Priority.urgent).first_response_seconds == 15 * 60

    await suite.patch(f"/v1/members/{agent['id']}", {"capacity": 7})
    await suite.put(f"/v1/members/{agent['id']}/availability", {"availability": "available"})
    async with runtime.sessions() as session:
        fresh = await load_routing_config(session, brand_id)
    assert fresh.version > config.version
    assert (fresh.candidates[0].capacity, fresh.candidates[0].availability) == (
        7,
        Availability.available,
    )
