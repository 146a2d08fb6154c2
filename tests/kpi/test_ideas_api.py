"""Ideas end to end: posts through real Kafka into the kpi service on PostgreSQL, classified
in-process, grouped into themes and read back from GET /v1/ideas."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from shared.events.interactions import Channel, SentimentLabel
from tests.kpi import events as events_module
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


async def test_ideas_collected_is_a_kpi_by_channel_and_over_time(kpi: Kpi) -> None:
    brand = f"ideas-kpi-{uuid.uuid4().hex[:8]}"
    start = MONDAY
    posts = [
        (f"{brand}-idea-{index}", Channel.x if index < 4 else Channel.instagram, lang, text)
        for index, (_, lang, text) in enumerate(IDEAS[:7])
    ]
    events = [
        interaction(
            brand,
            text,
            start + timedelta(days=index % 2, hours=index),
            author=f"fan{index}",
            lang=lang,
            channel=channel,
            identifier=identifier,
        )
        for index, (identifier, channel, lang, text) in enumerate(posts)
    ]
    events += [
        interaction(brand, text, start, author="other", lang=lang) for lang, text in NOT_IDEAS
    ]
    await kpi.publish(events)
    window = {"from": start.isoformat(), "to": (start + timedelta(days=2)).isoformat()}

    async def by_channel() -> dict[str | None, int]:
        response = await kpi.get(
            "/v1/kpis/summary", READER, brand_id=brand, group_by="channel", **window
        )
        assert response.status_code == 200, response.text
        return {
            group["key"]["channel"]: group["kpis"]["ideas_collected"]
            for group in response.json()["groups"]
        }

    assert await eventually(by_channel, lambda counts: counts.get("instagram") == 3) == {
        "x": 4,
        "instagram": 3,
    }
    # An idea deleted, and one edited into a complaint, no longer count.
    identifier, channel, lang, _text = posts[0]
    await kpi.publish(
        [
            events_module.deletion(
                uuid.uuid4().hex,
                brand=brand,
                interaction_id=identifier,
                channel=channel.value,
                at=start + timedelta(hours=3),
            ),
            interaction(
                brand,
                "El pedido llegó roto y nadie me responde, qué vergüenza",
                start + timedelta(days=1, hours=1),
                author="fan1",
                lang="es",
                channel=posts[1][1],
                identifier=posts[1][0],
                event_type="interaction.updated",
            ),
        ]
    )
    assert await eventually(by_channel, lambda counts: counts.get("x") == 2) == {
        "x": 2,
        "instagram": 3,
    }
    series = await kpi.get(
        "/v1/kpis/timeseries",
        READER,
        brand_id=brand,
        metric="ideas_collected",
        interval="day",
        **window,
    )
    assert series.status_code == 200, series.text
    # Ideas 2, 4, 6 on Monday; 3, 5 on Tuesday (0 deleted, 1 edited away).
    assert [point["value"] for point in series.json()["points"]] == [3, 2]

    async def by_intent() -> dict[str | None, int]:
        response = await kpi.get(
            "/v1/kpis/summary", READER, brand_id=brand, group_by="intent", **window
        )
        assert response.status_code == 200, response.text
        return {
            group["key"]["intent"]: group["kpis"]["ideas_collected"]
            for group in response.json()["groups"]
        }

    # The posts that are no ideas come from the interaction facts' consumer, which folds on its
    # own: their group (intent unknown here) appears when it has caught up.
    assert await eventually(by_intent, lambda counts: None in counts) == {
        "feedback_idea": 5,
        None: 0,
    }
