"""Fans, advocates and detractors end to end: interactions and cases through real
Kafka into the kpi service on PostgreSQL, read back over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from services.kpi.fans.scoring import influence
from shared.events.cases import CaseStatus
from shared.events.interactions import Channel, Interaction, SentimentLabel
from tests.kpi.alert_streams import MONDAY
from tests.kpi.audience_app import Kpi, as_key, case_event, eventually, interaction, kpi_service
from tests.kpi.events import engagement as engagement_event

pytestmark = pytest.mark.integration

READER = as_key("kpis:read")
PERSONAL = as_key("kpis:read", "interactions:read")
LINKER = as_key("kpis:read", "cases:write", "interactions:read")
ADMIN = as_key("admin")
POSITIVE, NEGATIVE, NEUTRAL = (
    SentimentLabel.positive,
    SentimentLabel.negative,
    SentimentLabel.neutral,
)


@pytest.fixture(scope="module")
async def kpi(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Kpi]:
    async with kpi_service(postgres_url, kafka_bootstrap) as service:
        yield service


async def fans(kpi: Kpi, brand: str, auth: object = READER, **params: object) -> list[dict]:  # type: ignore[type-arg]
    response = await kpi.get("/v1/fans", auth, brand_id=brand, **params)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    items: list[dict] = response.json()["items"]  # type: ignore[type-arg]
    return items


async def test_advocates_detractors_links_cases_and_personal_data(kpi: Kpi) -> None:
    brand = f"fans-{uuid.uuid4().hex[:8]}"
    at = MONDAY + timedelta(hours=9)
    events = []
    # a fan with reach who keeps praising: an advocate on two channels
    for index, label in enumerate([POSITIVE, POSITIVE, POSITIVE, NEUTRAL]):
        events.append(
            interaction(
                brand,
                "Me encanta vuestro café, el mejor del barrio",
                at + timedelta(hours=index),
                author="lucia",
                handle="@lucia_cafe",
                followers=12_000,
                label=label,
                likes=40,
            )
        )
    events.append(
        interaction(
            brand,
            "Otra vez aquí, qué bien",
            at + timedelta(hours=5),
            author="lucia-ig",
            channel=Channel.instagram,
            followers=3_000,
            label=POSITIVE,
        )
    )
    # a detractor with reach
    for index in range(3):
        events.append(
            interaction(
                brand,
                "Pésimo servicio, otra vez tarde",
                at + timedelta(hours=index),
                author="marc",
                followers=80_000,
                verified=True,
                label=NEGATIVE,
            )
        )
    # repeatedly positive but without reach: not an ambassador
    for index in range(4):
        events.append(
            interaction(
                brand,
                "Great coffee!",
                at + timedelta(hours=index),
                author="sam",
                followers=40,
                label=POSITIVE,
                lang="en",
            )
        )
    # someone known only through an HR case
    events.append(
        case_event(
            brand, "case.opened", at, author="worker", department="hr", intent="employee_matter"
        )
    )
    # a case of the detractor's, resolved
    case_id = str(uuid.uuid4())
    events.append(case_event(brand, "case.opened", at, case_id=case_id, author="marc"))
    events.append(
        case_event(
            brand,
            "case.resolved",
            at + timedelta(hours=2),
            case_id=case_id,
            author="marc",
            status=CaseStatus.resolved,
        )
    )
    await kpi.publish(events)

    async def settled() -> list[dict]:  # type: ignore[type-arg]
        return await fans(kpi, brand, ADMIN)

    every = await eventually(
        settled, lambda items: sum(i["interactions"] for i in items) == 12 and len(items) == 5
    )
    assert len(every) == 5  # lucia, lucia-ig, marc, sam and the HR-only author

    by_influence = await fans(kpi, brand, sort="influence")
    assert len(by_influence) == 4  # the HR-only author is hidden from a non-HR key
    assert by_influence[0]["followers"] == 80_000
    assert by_influence[0]["detractor"] is True
    assert by_influence[0]["verified"] is True
    assert by_influence[0]["cases"] == 1
    assert [item["profiles"][0]["handle"] for item in by_influence] == [None] * 4  # PII hidden
    by_advocacy = await fans(kpi, brand, sort="advocacy")
    lucia = by_advocacy[0]
    assert lucia["followers"] == 12_000
    assert lucia["advocate"] is True
    assert lucia["detractor"] is False
    assert lucia["sentiment"] == {"positive": 3, "neutral": 1, "negative": 0, "mean_score": 0.525}
    assert lucia["likes"] == 160
    sam = next(item for item in by_advocacy if item["followers"] == 40)
    assert sam["advocate"] is False  # no reach
    by_detraction = await fans(kpi, brand, sort="detraction")
    assert by_detraction[0]["id"] == by_influence[0]["id"]

    ambassadors = (await kpi.get("/v1/ambassadors", READER, brand_id=brand)).json()["items"]
    assert [item["id"] for item in ambassadors] == [lucia["id"]]

    # the detail: sentiment history, cases and how they ended; handles for interactions:read
    marc = (await kpi.get(f"/v1/fans/{by_detraction[0]['id']}", PERSONAL)).json()
    assert marc["profiles"][0]["handle"] == "@marc"
    assert marc["case_outcomes"]["resolved"] == 1
    assert [case["case_id"] for case in marc["recent_cases"]] == [case_id]
    assert marc["recent_cases"][0]["status"] == "resolved"
    assert sum(day["negative"] for day in marc["sentiment_history"]) == 3

    # the brand says lucia on instagram is the same person: one fan, both profiles
    lucia_ig = next(item for item in every if item["profiles"][0]["channel"] == "instagram")
    linked = await kpi.client.post(
        f"{kpi.url}/v1/fans/{lucia['id']}/links", json={"fan_id": lucia_ig["id"]}, auth=LINKER
    )
    assert linked.status_code == 200, linked.text
    person = linked.json()
    assert person["channels"] == ["instagram", "x"]
    assert person["interactions"] == 5
    assert person["sentiment"]["positive"] == 4
    assert person["followers"] == 12_000
    assert len(await fans(kpi, brand, ADMIN)) == 4
    # the linked id answers as the person it joined
    again = await kpi.get(f"/v1/fans/{lucia_ig['id']}", READER)
    assert again.json()["id"] == lucia["id"]
    # new posts on the linked profile count for the person
    await kpi.publish(
        [
            interaction(
                brand,
                "Qué rico todo",
                at + timedelta(hours=8),
                author="lucia-ig",
                channel=Channel.instagram,
                label=POSITIVE,
            )
        ]
    )
    updated = await eventually(
        lambda: kpi.get(f"/v1/fans/{lucia['id']}", READER),
        lambda response: response.json()["interactions"] == 6,
    )
    assert updated.json()["interactions"] == 6

    # HR: the HR-only author is there for HR keys only
    hr_key = as_key("kpis:read", departments=frozenset({"hr"}))
    hidden = next(item for item in every if item["cases"] == 1 and item["interactions"] == 0)
    assert (await kpi.get(f"/v1/fans/{hidden['id']}", READER)).status_code == 404
    assert (await kpi.get(f"/v1/fans/{hidden['id']}", ADMIN)).status_code == 200
    # department-limited keys: fans belong to the whole brand
    assert (await kpi.get("/v1/fans", hr_key, brand_id=brand)).status_code == 403
    # another brand's key sees nothing of this brand
    other = as_key("kpis:read", brands=frozenset({"other"}))
    assert (await kpi.get("/v1/fans", other, brand_id=brand)).json()["items"] == []
    assert (await kpi.get(f"/v1/fans/{lucia['id']}", other)).status_code == 404


async def test_fan_pages_and_bad_input(kpi: Kpi) -> None:
    brand = f"pages-{uuid.uuid4().hex[:8]}"
    at = MONDAY + timedelta(hours=12)
    await kpi.publish(
        [
            interaction(brand, "Hola", at, author=f"a{index}", followers=index * 10)
            for index in range(7)
        ]
    )
    await eventually(lambda: fans(kpi, brand, limit=50), lambda items: len(items) == 7)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        response = await kpi.get("/v1/fans", READER, brand_id=brand, **params)
        seen += [item["id"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7
    assert len(set(seen)) == 7
    bad_sort = await kpi.get("/v1/fans", READER, brand_id=brand, sort="loudness")
    assert bad_sort.status_code == 422
    assert bad_sort.headers["content-type"].startswith("application/problem+json")
    assert (await kpi.get("/v1/fans", READER, brand_id=brand, cursor="zz")).status_code == 400
    assert (await kpi.get("/v1/fans", READER)).status_code == 422  # brand_id is required
    assert (await kpi.get("/v1/fans/nope", READER)).status_code == 404
    no_scope = await kpi.client.post(
        f"{kpi.url}/v1/fans/{seen[0]}/links", json={"fan_id": seen[1]}, auth=READER
    )
    assert no_scope.status_code == 403
    bad_body = await kpi.client.post(f"{kpi.url}/v1/fans/{seen[0]}/links", json={}, auth=LINKER)
    assert bad_body.status_code == 422


async def test_engagement_on_a_fans_post_counts_for_their_influence(kpi: Kpi) -> None:
    brand = f"engaged-{uuid.uuid4().hex[:8]}"
    at = MONDAY + timedelta(hours=10)
    post = interaction(brand, "Mirad mi foto con vuestro café", at, author="marta", followers=100)
    assert isinstance(post.data, Interaction)
    post_id = post.data.id
    likes = engagement_event(
        f"{brand}-likes", brand=brand, channel="x", at=at, likes=500, interaction_id=post_id
    )
    # Before the post (out of order), the same record twice, a removal, one on nobody's post.
    await kpi.publish([likes])
    await kpi.publish(
        [
            post,
            likes,
            engagement_event(
                f"{brand}-shares",
                brand=brand,
                channel="x",
                at=at,
                shares=20,
                interaction_id=post_id,
            ),
            engagement_event(
                f"{brand}-unlike",
                brand=brand,
                channel="x",
                at=at,
                likes=100,
                interaction_id=post_id,
                kind="like.removed",
            ),
            engagement_event(f"{brand}-other", brand=brand, channel="x", at=at, likes=9_999),
        ]
    )
    listed = await eventually(
        lambda: fans(kpi, brand),
        lambda items: bool(items) and items[0]["likes"] == 400 and items[0]["shares"] == 20,
    )
    assert [(fan["likes"], fan["shares"]) for fan in listed] == [(400, 20)]
    assert listed[0]["influence"] == influence(100, 420, False)
    assert listed[0]["influence"] > influence(100, 0, False)
