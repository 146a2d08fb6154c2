"""The cases API over real HTTP with PostgreSQL and Kafka: filters, pagination, counts,
changes, assignment, transfer, notes, and what each key may see (brands, departments, HR)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from services.routing.cases.models import Case
from services.routing.models import IntentExample, Member
from shared.events.topics import CASES
from tests.fixtures.services import migrated_database, read_events
from tests.routing.cases_support import (
    ADMIN,
    READER,
    WRITER,
    Routing,
    as_key,
    case_event,
    interaction,
    is_case,
    open_case,
    running_routing,
    seed_team,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def routing(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Routing]:
    database = await migrated_database(postgres_url, "routing")
    async with running_routing(database, kafka_bootstrap) as running:
        yield running


def brand() -> str:
    return f"acme-{uuid.uuid4().hex[:8]}"


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    return body


TEAM = [
    {"name": "ana", "departments": ["customer_service"], "capacity": 2},
    {"name": "bea", "departments": ["customer_service"], "capacity": 2},
    {"name": "hugo", "departments": ["hr"], "capacity": 5},
    {"name": "sara", "departments": ["sales"], "capacity": 5},
]


async def test_filters_pagination_and_counts(routing: Routing) -> None:
    brand_id = brand()
    await seed_team(routing.sessions, brand_id, TEAM)
    complaint = await open_case(
        routing, interaction(brand_id, "Mi pedido llegó roto y nadie responde")
    )
    english = await open_case(
        routing,
        interaction(brand_id, "I want to buy 40 units for my shop, what is the price?", lang="en"),
    )
    job = await open_case(
        routing,
        interaction(
            brand_id,
            "Hola, ¿tenéis ofertas de empleo? Me gustaría trabajar con vosotros, "
            "¿dónde envío mi currículum?",
        ),
    )
    base = f"{routing.url}/v1/cases"
    all_cases = await routing.client.get(base, params={"brand_id": brand_id}, auth=READER)
    assert all_cases.status_code == 200, all_cases.text
    ids = [item["id"] for item in all_cases.json()["items"]]
    # HR's case is left out for a key that may not see HR; newest first.
    assert ids == [english.id, complaint.id]
    hr_key = as_key("cases:read", departments=["hr"])
    hr = await routing.client.get(base, params={"brand_id": brand_id}, auth=hr_key)
    assert [item["id"] for item in hr.json()["items"]] == [job.id]
    single = await routing.client.get(f"{base}/{job.id}", auth=READER)
    assert_problem(single, 404)
    assert (await routing.client.get(f"{base}/{job.id}", auth=hr_key)).status_code == 200
    counts = await routing.client.get(f"{base}/count", params={"brand_id": brand_id}, auth=READER)
    assert counts.json() == {"count": 2}
    hr_count = await routing.client.get(f"{base}/count", params={"brand_id": brand_id}, auth=hr_key)
    assert hr_count.json() == {"count": 1}
    admin = await routing.client.get(f"{base}/count", params={"brand_id": brand_id}, auth=ADMIN)
    assert admin.json() == {"count": 3}

    sales_key = as_key("cases:read", departments=["sales"])
    sales = await routing.client.get(base, params={"brand_id": brand_id}, auth=sales_key)
    assert [item["department"] for item in sales.json()["items"]] == ["sales"]
    other_brand = as_key("cases:read", brands=["globex"])
    assert (await routing.client.get(base, params={"brand_id": brand_id}, auth=other_brand)).json()[
        "items"
    ] == []
    assert_problem(await routing.client.get(f"{base}/{complaint.id}", auth=other_brand), 404)

    async def ids_for(**params: str) -> list[str]:
        response = await routing.client.get(
            base, params={"brand_id": brand_id, **params}, auth=ADMIN
        )
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids_for(lang="en") == [english.id]
    assert await ids_for(intent="complaint") == [complaint.id]
    assert await ids_for(department="hr") == [job.id]
    assert await ids_for(q="ROTO") == [complaint.id]
    assert await ids_for(q="100%_") == []
    assert await ids_for(sentiment="negative", channel="facebook", status="open") == [
        job.id,
        english.id,
        complaint.id,
    ]
    assert await ids_for(sla="breached") == []
    assert set(await ids_for(priority="high")) == {english.id}  # purchase intent: high

    first = await routing.client.get(base, params={"brand_id": brand_id, "limit": 2}, auth=ADMIN)
    page = first.json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    second = await routing.client.get(
        base, params={"brand_id": brand_id, "limit": 2, "cursor": page["next_cursor"]}, auth=ADMIN
    )
    assert [item["id"] for item in page["items"]] == [job.id, english.id]
    assert [item["id"] for item in second.json()["items"]] == [complaint.id]
    assert second.json()["next_cursor"] is None
    bad = await routing.client.get(base, params={"cursor": "nope!"}, auth=ADMIN)
    assert assert_problem(bad, 400)["field"] == "cursor"
    assert_problem(await routing.client.get(base, params={"status": "lost"}, auth=ADMIN), 422)
    assert_problem(await routing.client.get(base, auth=as_key("guidelines:read")), 403)


async def test_patch_resolve_tags_priority_and_intent_correction(routing: Routing) -> None:
    brand_id = brand()
    team = await seed_team(routing.sessions, brand_id, TEAM)
    case = await open_case(routing, interaction(brand_id, "Mi pedido llegó roto y nadie responde"))
    url = f"{routing.url}/v1/cases/{case.id}"
    hr_writer = as_key("cases:read", "cases:write", departments=["hr"])
    # A correction: HR intent. Stored as a labelled example.
    response = await routing.client.patch(
        url,
        json={"intent": "employee_matter", "tags": ["finiquito"], "priority": "high"},
        auth=ADMIN,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["intent"], body["priority"], body["tags"]) == (
        "employee_matter",
        "high",
        ["finiquito"],
    )
    async with routing.sessions() as session:
        example = await session.scalar(
            select(IntentExample).where(IntentExample.case_id == case.id)
        )
    assert example is not None
    assert example.intent == "employee_matter"
    # Now an HR case: a key without HR no longer sees it.
    assert_problem(await routing.client.patch(url, json={"status": "resolved"}, auth=WRITER), 404)
    stale = await routing.client.patch(
        url, json={"status": "pending", "version": 1}, auth=hr_writer
    )
    assert assert_problem(stale, 409)["field"] == "version"
    resolved = await routing.client.patch(
        url, json={"status": "resolved", "version": body["version"]}, auth=hr_writer
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolved_at"] is not None
    events = await read_events(
        routing.bootstrap, CASES, is_case(case.id), 1, key=case.thread_key, drain=True
    )
    assert "case.resolved" in [e.type for e in events]
    async with routing.sessions() as session:
        loads = dict(
            (
                await session.execute(
                    select(Member.name, Member.open_cases).where(Member.brand_id == brand_id)
                )
            ).all()
        )
    assert sum(loads.values()) == 0, loads
    assert_problem(
        await routing.client.patch(url, json={"priority": "urgentísimo"}, auth=ADMIN), 422
    )
    assert_problem(await routing.client.patch(url, json={"tags": ["a b"]}, auth=ADMIN), 422)
    assert_problem(
        await routing.client.patch(f"{routing.url}/v1/cases/{uuid.uuid4()}", json={}, auth=ADMIN),
        404,
    )
    assert_problem(await routing.client.patch(url, json={"status": "open"}, auth=READER), 403)
    assert team.members


async def test_assign_transfer_and_notes(routing: Routing) -> None:
    brand_id = brand()
    team = await seed_team(routing.sessions, brand_id, TEAM)
    case = await open_case(routing, interaction(brand_id, "El pedido llegó roto y nadie responde"))
    assert case.assignee_id in {team.members["ana"], team.members["bea"]}
    other = team.members["bea"] if case.assignee_id == team.members["ana"] else team.members["ana"]
    url = f"{routing.url}/v1/cases/{case.id}"
    moved = await routing.client.post(f"{url}/assign", json={"member_id": other}, auth=WRITER)
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignee_id"] == other
    wrong = await routing.client.post(
        f"{url}/assign", json={"member_id": team.members["sara"]}, auth=WRITER
    )
    assert assert_problem(wrong, 409)["reason"] == "not_in_department"
    missing = await routing.client.post(
        f"{url}/assign", json={"member_id": str(uuid.uuid4())}, auth=WRITER
    )
    assert_problem(missing, 404)

    note = await routing.client.post(
        f"{url}/notes", json={"text": "Cliente VIP / VIP customer"}, auth=WRITER
    )
    assert note.status_code == 201, note.text
    unknown = await routing.client.post(
        f"{url}/transfer", json={"department": "finance", "note": "x"}, auth=WRITER
    )
    assert assert_problem(unknown, 404)["field"] == "department"
    assert_problem(
        await routing.client.post(
            f"{url}/transfer", json={"department": "sales", "note": "  "}, auth=WRITER
        ),
        422,
    )
    transfer = await routing.client.post(
        f"{url}/transfer",
        json={"department": "sales", "note": "Quiere presupuesto / wants a quote"},
        auth=WRITER,
    )
    assert transfer.status_code == 200, transfer.text
    assert (transfer.json()["department"], transfer.json()["assignee_id"]) == (
        "sales",
        team.members["sara"],
    )
    detail = (await routing.client.get(url, auth=READER)).json()
    assert [n["text"] for n in detail["notes"]] == [
        "Cliente VIP / VIP customer",
        "Quiere presupuesto / wants a quote",
    ]
    actions = [h["action"] for h in detail["history"]]
    assert actions[-3:] == ["note_added", "transferred", "assigned"]
    events = await read_events(routing.bootstrap, CASES, is_case(case.id), 6, key=case.thread_key)
    transferred = next(case_event(e) for e in events if e.type == "case.transferred")
    assert transferred.previous_department == "customer_service"
    assert transferred.previous_assignee_id == other
    assert transferred.note == "Quiere presupuesto / wants a quote"
    async with routing.sessions() as session:
        loads = dict(
            (
                await session.execute(
                    select(Member.name, Member.open_cases).where(Member.brand_id == brand_id)
                )
            ).all()
        )
    assert loads == {"ana": 0, "bea": 0, "hugo": 0, "sara": 1}
    async with routing.sessions() as session:
        stored = await session.get(Case, case.id)
    assert stored is not None
    assert stored.first_response_due_at is not None
