"""Crisis and SLA-burst alerts end to end: generated streams through real Kafka into the kpi
service on PostgreSQL, alerts read back from socialcare.alerts and GET /v1/alerts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from shared.events.alerts import AlertRaised, AlertResolved
from shared.events.envelope import Envelope
from shared.events.interactions import SentimentLabel
from shared.events.topics import ALERTS
from tests.fixtures.services import read_events
from tests.kpi.alert_streams import MONDAY, Post, crisis_stream, merged, normal_stream
from tests.kpi.audience_app import Kpi, as_key, case_event, eventually, interaction, kpi_service

pytestmark = pytest.mark.integration

READER = as_key("kpis:read")
HR_READER = as_key("kpis:read", departments=frozenset({"hr"}))
OTHER_BRAND = as_key("kpis:read", brands=frozenset({"someone-else"}))


@pytest.fixture(scope="module")
async def kpi(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Kpi]:
    async with kpi_service(postgres_url, kafka_bootstrap) as service:
        yield service


def envelopes(brand: str, posts: list[Post]) -> list[Envelope]:
    return [
        interaction(
            brand,
            post.text,
            post.at,
            author=post.author,
            followers=post.followers,
            lang=post.lang,
            label=SentimentLabel.negative if post.negative else SentimentLabel.neutral,
            identifier=f"{brand}-{post.interaction_id}",
        )
        for post in posts
    ]


async def alerts_of(
    kpi: Kpi, brand: str, expected: int, *, drain: bool = False, within: float = 120
) -> list[Envelope]:
    return await read_events(
        kpi.bootstrap, ALERTS, lambda _: True, expected, key=brand, drain=drain, within=within
    )


async def test_a_crisis_is_raised_within_five_minutes_and_resolved_after_it(kpi: Kpi) -> None:
    brand = f"crisis-{uuid.uuid4().hex[:8]}"
    crisis_start = MONDAY + timedelta(hours=15)
    before = list(normal_stream(crisis_start - timedelta(hours=1), 60, base_rate=2, seed=21))
    crisis = list(crisis_stream(crisis_start, 8, rate=10, seed=22))
    # the 60-minute window holds the alert for an hour, then 15 quiet minutes resolve it
    after = list(normal_stream(crisis_start + timedelta(minutes=8), 85, base_rate=1, seed=23))
    await kpi.publish(envelopes(brand, merged(iter(before), iter(crisis))))
    raised_events = await alerts_of(kpi, brand, 1)
    assert raised_events, "no alert raised for the crisis"
    first = raised_events[0]
    assert first.type == "alert.raised"
    raised = first.data
    assert isinstance(raised, AlertRaised)
    assert raised.kind == "crisis"
    assert raised.metric in ("negative_share", "crisis_intents")
    assert raised.window_end - crisis_start <= timedelta(minutes=5)
    assert raised.window_end > crisis_start
    assert raised.value is not None
    assert raised.threshold is not None
    assert raised.value >= raised.threshold
    assert raised.title.startswith("Posible crisis")  # most of the posts were in Spanish
    assert "Possible crisis" in raised.detail
    keywords = " ".join(raised.keywords)
    assert "ensalada" in keywords or "intoxicación" in keywords
    assert raised.thread_keys
    assert all(key.startswith(f"{brand}:x:") for key in raised.thread_keys)

    listed = await kpi.get("/v1/alerts", READER, brand_id=brand, status="active")
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    by_id = {item["id"]: item for item in items}
    assert raised.alert_id in by_id
    alert = by_id[raised.alert_id]
    assert alert["title_es"].startswith("Posible crisis")
    assert alert["title_en"].startswith("Possible crisis")
    assert len(alert["interaction_ids"]) == 5
    crisis_ids = {f"{brand}-{post.interaction_id}" for post in crisis}
    assert set(alert["interaction_ids"]) <= crisis_ids
    assert alert["figures"]["hits"] >= alert["figures"]["threshold"]

    await kpi.publish(envelopes(brand, after))
    every = await alerts_of(kpi, brand, 4, drain=True)
    raised_ids = [event.data.alert_id for event in every if isinstance(event.data, AlertRaised)]
    resolved_ids = [event.data.alert_id for event in every if isinstance(event.data, AlertResolved)]
    # raised once per signal however many posts kept coming, and each resolved once
    assert len(raised_ids) == len(set(raised_ids))
    assert raised.alert_id in raised_ids
    assert sorted(resolved_ids) == sorted(raised_ids)
    done = await kpi.get(f"/v1/alerts/{raised.alert_id}", READER)
    assert done.json()["status"] == "resolved"
    assert done.json()["resolved_at"] > done.json()["raised_at"]


async def test_a_normal_morning_and_two_angry_posts_at_night_stay_quiet(kpi: Kpi) -> None:
    brand = f"quiet-{uuid.uuid4().hex[:8]}"
    night = MONDAY + timedelta(hours=3)
    angry = [
        Post(night + timedelta(minutes=i), f"angry-{i}", True, True, "Sois lo peor", "es", "a", 9)
        for i in range(2)
    ]
    morning = list(normal_stream(MONDAY + timedelta(hours=8), 90, base_rate=1.5, seed=5))
    posts = merged(iter(angry), iter(morning))
    await kpi.publish(envelopes(brand, posts))
    authors = {post.author for post in posts}

    async def fans_count() -> int:
        response = await kpi.get("/v1/fans", READER, brand_id=brand, limit=200)
        page = response.json()
        total: int = sum(item["interactions"] for item in page["items"])
        cursor = page["next_cursor"]
        while cursor:
            page = (
                await kpi.get("/v1/fans", READER, brand_id=brand, limit=200, cursor=cursor)
            ).json()
            total += sum(item["interactions"] for item in page["items"])
            cursor = page["next_cursor"]
        return total

    # Every post was folded in (the fans count them all) ...
    assert await eventually(fans_count, lambda total: total == len(posts), within=120) == len(posts)
    assert len(authors) > 1
    # ... and no alert came of them.
    listed = await kpi.get("/v1/alerts", READER, brand_id=brand)
    assert listed.json()["items"] == []
    assert await alerts_of(kpi, brand, 0, drain=True) == []


async def test_sla_breach_bursts_per_department_and_hr_only_for_hr(kpi: Kpi) -> None:
    brand = f"sla-{uuid.uuid4().hex[:8]}"
    start = MONDAY + timedelta(hours=10)
    events = []
    for department in ("customer_service", "hr"):
        for index in range(8):
            events.append(
                case_event(
                    brand,
                    "case.sla_breached",
                    start + timedelta(seconds=30 * index),
                    department=department,
                    intent="employee_matter" if department == "hr" else "complaint",
                )
            )
    await kpi.publish(events)
    raised = await alerts_of(kpi, brand, 2)
    assert len(raised) == 2
    for event in raised:
        assert isinstance(event.data, AlertRaised)
        assert event.data.kind == "sla_burst"
        assert event.data.metric == "sla_breaches"
        assert event.data.window_end - start <= timedelta(minutes=5)

    everyone = (await kpi.get("/v1/alerts", READER, brand_id=brand)).json()["items"]
    assert [item["department"] for item in everyone] == ["customer_service"]
    assert everyone[0]["title_en"].endswith("in customer_service")
    assert len(everyone[0]["case_ids"]) == 5
    hr_items = (await kpi.get("/v1/alerts", HR_READER, brand_id=brand)).json()["items"]
    assert [item["department"] for item in hr_items] == ["hr"]
    hr_id = hr_items[0]["id"]
    assert (await kpi.get(f"/v1/alerts/{hr_id}", READER)).status_code == 404
    assert (await kpi.get(f"/v1/alerts/{hr_id}", HR_READER)).status_code == 200
    # another brand's key sees none of them, and one alert answers as missing
    assert (await kpi.get("/v1/alerts", OTHER_BRAND, brand_id=brand)).json()["items"] == []
    assert (await kpi.get(f"/v1/alerts/{everyone[0]['id']}", OTHER_BRAND)).status_code == 404


async def test_alert_list_pages_and_refuses_bad_input(kpi: Kpi) -> None:
    brand = f"pages-{uuid.uuid4().hex[:8]}"
    start = MONDAY + timedelta(hours=11)
    events = []
    for department in ("customer_service", "sales", "pr"):
        events += [
            case_event(
                brand, "case.sla_breached", start + timedelta(seconds=i), department=department
            )
            for i in range(6)
        ]
    await kpi.publish(events)
    await alerts_of(kpi, brand, 3)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"brand_id": brand, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await kpi.get("/v1/alerts", READER, **params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 3
    assert len(set(seen)) == 3

    bad_status = await kpi.get("/v1/alerts", READER, status="burning")
    assert bad_status.status_code == 422
    assert bad_status.headers["content-type"].startswith("application/problem+json")
    bad_cursor = await kpi.get("/v1/alerts", READER, cursor="not-ours")
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["field"] == "cursor"
    no_scope = await kpi.get("/v1/alerts", as_key("cases:read"))
    assert no_scope.status_code == 403
    unsigned = await kpi.client.get(f"{kpi.url}/v1/alerts")
    assert unsigned.status_code == 401
    assert isinstance(unsigned, httpx.Response)
