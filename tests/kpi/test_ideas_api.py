"""Ideas end to end: posts through real Kafka into the kpi service on PostgreSQL, classified
in-process, grouped into themes and read back from GET /v1/ideas."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from shared.events.interactions import SentimentLabel
from tests.kpi.alert_streams import MONDAY
from tests.kpi.audience_app import Kpi, as_key, eventually, interaction, kpi_service
from tests.kpi.idea_posts import IDEAS, NOT_IDEAS

pytestmark = pytest.mark.integration

READER = as_key("kpis:read")
PERSONAL = as_key("kpis:read", "interactions:read")
POSITIVE, NEGATIVE = SentimentLabel.positive, SentimentLabel.negative


@pytest.fixture(scope="module")
async def kpi(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Kpi]:
    async with kpi_service(postgres_url, kafka_bootstrap) as service:
        yield service


async def test_ideas_are_collected_and_grouped_into_themes(kpi: Kpi) -> None:
    brand = f"ideas-{uuid.uuid4().hex[:8]}"
    start = MONDAY
    events = [
        interaction(
            brand,
            text,
            start + timedelta(hours=6 * index),
            author=f"fan{index}",
            lang=lang,
            label=POSITIVE,
        )
        for index, (_, lang, text) in enumerate(IDEAS)
    ]
    events += [
        interaction(
            brand, text, start + timedelta(hours=1), author="other", lang=lang, label=NEGATIVE
        )
        for lang, text in NOT_IDEAS
    ]
    events.append(
        interaction(
            brand,
            "Idea: avisad por SMS al 612 345 678 cuando llegue el pedido",
            start,
            author="pii",
            lang="es",
        )
    )
    await kpi.publish(events)
    window = {"from": start.isoformat(), "to": (start + timedelta(days=6)).isoformat()}

    async def themes() -> dict:  # type: ignore[type-arg]
        response = await kpi.get("/v1/ideas", PERSONAL, brand_id=brand, **window)
        assert response.status_code == 200, response.text
        body: dict = response.json()  # type: ignore[type-arg]
        return body

    body = await eventually(themes, lambda body: body["total"] == len(IDEAS) + 1)
    assert body["total"] == len(IDEAS) + 1  # the complaints and the praise are no ideas
    by_label = {theme["label"]: theme for theme in body["themes"]}
    assert by_label["bizum"]["count"] == 4
    assert by_label["bizum"]["languages"] == {"es": 4}
    assert by_label["dark mode"]["languages"] == {"en": 3}
    assert by_label["oscuro"]["count"] == 4
    assert by_label["loyalty card"]["count"] == 3
    bizum = by_label["bizum"]
    assert len(bizum["examples"]) == 3
    assert all("Bizum" in example["text"] for example in bizum["examples"])
    assert bizum["examples"][0]["author_handle"].startswith("@fan")
    assert bizum["positive"] == 4
    assert sum(day["count"] for day in bizum["daily"]) == 4
    assert bizum["trend"] in ("rising", "falling", "steady")
    assert bizum["first_half"] + bizum["second_half"] == 4
    texts = [example["text"] for theme in body["themes"] for example in theme["examples"]]
    assert not any("612 345 678" in text for text in texts)  # personal data masked
    plain = (await kpi.get("/v1/ideas", READER, brand_id=brand, **window)).json()
    assert all(
        example["author_handle"] is None
        for theme in plain["themes"]
        for example in theme["examples"]
    )
    # trend: all the bizum ideas in the second half of a window that starts before them
    late = {
        "from": (start - timedelta(days=6)).isoformat(),
        "to": (start + timedelta(days=6)).isoformat(),
    }
    shifted = (await kpi.get("/v1/ideas", READER, brand_id=brand, **late)).json()
    assert {theme["label"]: theme["trend"] for theme in shifted["themes"]}["bizum"] == "rising"

    reversed_window = {"from": window["to"], "to": window["from"]}
    bad = await kpi.get("/v1/ideas", READER, brand_id=brand, **reversed_window)
    assert bad.status_code == 400
    assert bad.json()["field"] == "to"
    naive = await kpi.get("/v1/ideas", READER, brand_id=brand, **{"from": "2026-11-01T00:00:00"})
    assert naive.status_code == 422
