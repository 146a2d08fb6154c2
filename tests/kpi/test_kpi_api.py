"""The KPI API over real HTTP, fed through Kafka: summaries, grouping, time series, CSV, the
per-case export, who sees what, and bad input."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.kpi import events
from tests.kpi.conftest import Kpi, as_key

pytestmark = pytest.mark.integration

READER = as_key("kpis:read")
DAY = datetime(2026, 11, 10, tzinfo=UTC)
WINDOW = {"from": "2026-11-10T00:00:00Z", "to": "2026-11-11T00:00:00Z"}


def at(minutes: float) -> datetime:
    return DAY + timedelta(minutes=minutes)


async def seed(kpi: Kpi) -> str:
    """One brand: two customer-service cases (one answered in 10 min, one never), one HR case
    answered in 30 min, one PR case, three interactions, engagement and checks."""
    brand = f"acme-{uuid.uuid4().hex[:8]}"
    ids = iter(range(1000))

    def eid() -> str:
        return f"{brand}-{next(ids)}"

    stream = [
        events.interaction(
            eid(),
            brand=brand,
            interaction_id=f"{brand}-i1",
            created_at=at(60),
            time=at(60),
            label="negative",
            score=-0.6,
            text="El pedido llegó roto",
        ),
        events.interaction(
            eid(),
            brand=brand,
            interaction_id=f"{brand}-i2",
            created_at=at(61),
            time=at(61),
            label="positive",
            score=0.8,
            lang="en",
            text="Love it, thanks!",
        ),
        events.interaction(
            eid(),
            brand=brand,
            interaction_id=f"{brand}-i3",
            channel="instagram",
            created_at=at(62),
            time=at(62),
            label="positive",
            score=0.4,
        ),
        events.case(
            eid(),
            brand=brand,
            case_id=f"{brand}-c1",
            first_inbound_at=at(60),
            opened_at=at(60),
            occurred_at=at(60),
            assignee="m-1",
            target_seconds=3600,
        ),
        events.reply(
            eid(),
            brand=brand,
            case_id=f"{brand}-c1",
            reply_id=f"{brand}-r1",
            sent_at=at(70),
            author="m-1",
        ),
        events.case(
            eid(),
            brand=brand,
            case_id=f"{brand}-c2",
            first_inbound_at=at(90),
            opened_at=at(90),
            occurred_at=at(90),
            assignee="m-2",
        ),
        events.case(
            eid(),
            brand=brand,
            case_id=f"{brand}-c3",
            department="hr",
            intent="job_inquiry",
            first_inbound_at=at(100),
            opened_at=at(100),
            occurred_at=at(100),
            assignee="m-hr",
        ),
        events.reply(
            eid(),
            brand=brand,
            case_id=f"{brand}-c3",
            reply_id=f"{brand}-r3",
            department="hr",
            author="m-hr",
            sent_at=at(130),
        ),
        events.case(
            eid(),
            brand=brand,
            case_id=f"{brand}-c4",
            department="pr",
            intent="press_inquiry",
            first_inbound_at=at(200),
            opened_at=at(200),
            occurred_at=at(200),
        ),
        events.engagement(
            eid(), brand=brand, at=at(300), likes=30, comments=5, shares=5, views=400
        ),
        events.check(
            eid(),
            brand=brand,
            check_id=f"{brand}-k1",
            reply_id=f"{brand}-r1",
            passed=False,
            at=at(65),
        ),
        events.check(
            eid(),
            brand=brand,
            check_id=f"{brand}-k2",
            reply_id=f"{brand}-r1",
            passed=True,
            at=at(66),
        ),
        events.check(
            eid(),
            brand=brand,
            check_id=f"{brand}-k3",
            reply_id=f"{brand}-r3",
            passed=True,
            at=at(120),
        ),
    ]
    await kpi.publish(stream)

    async def folded() -> bool:
        response = await kpi.summary(as_key("admin"), brand_id=brand, **WINDOW)
        kpis = response.json()["groups"][0]["kpis"]
        return bool(
            kpis["cases_opened"] == 4
            and kpis["replies_sent"] == 2
            and kpis["interactions"] == 3
            and kpis["likes"] == 30
            and kpis["replies_checked"] == 2
        )

    await kpi.wait_for(folded)
    return brand


@pytest.fixture(scope="module")
async def brand(kpi: Kpi) -> str:
    return await seed(kpi)


async def test_summary_for_a_key_without_limits_leaves_hr_out(kpi: Kpi, brand: str) -> None:
    response = await kpi.summary(READER, brand_id=brand, **WINDOW)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["from"] == "2026-11-10T00:00:00Z"
    kpis = body["groups"][0]["kpis"]
    assert kpis["cases_opened"] == 3  # the HR case is not counted for a key that may not see HR
    assert kpis["cases_responded"] == 1
    assert kpis["response_rate"] == pytest.approx(100 / 3)
    assert kpis["first_response_mean_seconds"] == pytest.approx(600)
    assert kpis["first_response_p90_seconds"] == pytest.approx(600, rel=0.01)
    assert kpis["sla_ended"] == 1
    assert kpis["sla_compliance"] == 100
    assert kpis["interactions"] == 3
    assert kpis["net_sentiment"] == pytest.approx((2 - 1) / 3 * 100)
    assert kpis["sentiment_mean_score"] == pytest.approx((-0.6 + 0.8 + 0.4) / 3)
    assert kpis["engagement_rate"] == pytest.approx(40 / 400 * 100)
    # Checks are brand-wide (guidelines knows no department): r1 failed its first check.
    assert kpis["replies_checked"] == 2
    assert kpis["guideline_first_pass_rate"] == 50


async def test_hr_figures_only_for_hr_keys(kpi: Kpi, brand: str) -> None:
    response = await kpi.summary(
        as_key("kpis:read", departments=["hr"]), brand_id=brand, group_by="department", **WINDOW
    )
    groups = response.json()["groups"]
    assert [group["key"]["department"] for group in groups] == ["hr"]
    kpis = groups[0]["kpis"]
    assert kpis["cases_opened"] == 1
    assert kpis["first_response_mean_seconds"] == pytest.approx(1800)
    assert kpis["interactions"] == 0  # brand-wide rows need a key without a department limit


async def test_department_limited_key_sees_only_its_department(kpi: Kpi, brand: str) -> None:
    response = await kpi.summary(
        as_key("kpis:read", departments=["pr"]), brand_id=brand, group_by="department", **WINDOW
    )
    groups = response.json()["groups"]
    assert [group["key"]["department"] for group in groups] == ["pr"]
    assert groups[0]["kpis"]["cases_opened"] == 1


async def test_group_by_member_gives_the_workload(kpi: Kpi, brand: str) -> None:
    response = await kpi.summary(
        as_key("admin"), brand_id=brand, group_by="member,department", **WINDOW
    )
    groups = {
        (group["key"]["member"], group["key"]["department"]): group["kpis"]
        for group in response.json()["groups"]
    }
    assert groups[("m-1", "customer_service")]["cases_opened"] == 1
    assert groups[("m-1", "customer_service")]["replies_sent"] == 1
    assert groups[("m-2", "customer_service")]["cases_responded"] == 0
    assert groups[("m-hr", "hr")]["replies_sent"] == 1
    assert groups[(None, None)]["interactions"] == 3
    # Backlog: the cases open now under each member (every case of the brand is still open).
    assert groups[("m-1", "customer_service")]["backlog"] == 1
    assert groups[("m-2", "customer_service")]["backlog"] == 1
    assert groups[("m-hr", "hr")]["backlog"] == 1
    assert groups[(None, "pr")]["backlog"] == 1
    assert groups[(None, None)]["backlog"] == 0
    seen = await kpi.summary(READER, brand_id=brand, group_by="member", **WINDOW)
    backlog = {group["key"]["member"]: group["kpis"]["backlog"] for group in seen.json()["groups"]}
    assert backlog == {"m-1": 1, "m-2": 1, None: 1}  # HR's case only for HR keys
    for_hr = await kpi.summary(
        as_key("kpis:read", departments=["hr"]), brand_id=brand, group_by="member", **WINDOW
    )
    assert {g["key"]["member"]: g["kpis"]["backlog"] for g in for_hr.json()["groups"]} == {
        "m-hr": 1
    }
    # Grouped by day the backlog (a state, not a sum over the window) is not given.
    daily = await kpi.summary(READER, brand_id=brand, group_by="day", **WINDOW)
    assert all(group["kpis"]["backlog"] is None for group in daily.json()["groups"])


async def test_first_response_over_a_weekend_in_business_hours(kpi: Kpi) -> None:
    """Asked on Friday at 19:00 in Madrid, answered on Monday at 10:00: 63 hours on the wall
    clock, one hour of the department's 09:00-18:00 weekdays (as routing measured it)."""
    brand = f"acme-{uuid.uuid4().hex[:8]}"
    friday = datetime(2026, 11, 13, 18, 0, tzinfo=UTC)  # 19:00 in Madrid
    monday = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # 10:00 in Madrid
    stream = []
    resolved_at = monday + timedelta(hours=2)  # 12:00 in Madrid: three business hours
    for number, business in ((1, 3600.0), (2, None)):  # case 2: routing before the figure
        case_id = f"{brand}-c{number}"
        stream += [
            events.case(
                f"{case_id}-open",
                brand=brand,
                case_id=case_id,
                first_inbound_at=friday,
                opened_at=friday,
                occurred_at=friday,
                assignee="m-1",
            ),
            events.case(
                f"{case_id}-resolved",
                event_type="case.resolved",
                brand=brand,
                case_id=case_id,
                first_inbound_at=friday,
                opened_at=friday,
                occurred_at=resolved_at,
                resolved_at=resolved_at,
                resolution_business_seconds=None if business is None else 3 * 3600.0,
                assignee="m-1",
            ),
            events.reply(
                f"{case_id}-sent",
                brand=brand,
                case_id=case_id,
                reply_id=f"{case_id}-r1",
                sent_at=monday,
                answers_inbound_at=friday,
                first_inbound_business_seconds=business,
                answers_inbound_business_seconds=business,
            ),
        ]
    await kpi.publish(stream)
    window = {"from": "2026-11-13T00:00:00Z", "to": "2026-11-17T00:00:00Z"}

    async def folded() -> bool:
        response = await kpi.summary(READER, brand_id=brand, **window)
        kpis = response.json()["groups"][0]["kpis"]
        return bool(kpis["first_response_count"] == 2 and kpis["cases_resolved"] == 2)

    await kpi.wait_for(folded)
    kpis = (await kpi.summary(READER, brand_id=brand, **window)).json()["groups"][0]["kpis"]
    assert kpis["first_response_mean_seconds"] == 63 * 3600
    assert kpis["first_response_business_count"] == 1
    assert kpis["first_response_business_mean_seconds"] == 3600
    assert kpis["first_response_business_median_seconds"] == pytest.approx(3600, rel=0.01)
    assert kpis["first_response_business_p90_seconds"] == pytest.approx(3600, rel=0.01)
    assert kpis["next_response_business_count"] == 0  # a first reply is no next response
    assert kpis["resolution_mean_seconds"] == 65 * 3600
    assert kpis["resolution_business_count"] == 1
    assert kpis["resolution_business_mean_seconds"] == 3 * 3600
    series = await kpi.client.get(
        f"{kpi.url}/v1/kpis/timeseries",
        params={
            "brand_id": brand,
            "metric": "first_response_business_mean_seconds",
            "interval": "day",
            **window,
        },
        auth=READER,
    )
    assert [point["value"] for point in series.json()["points"]] == [3600, None, None, None]
    summary_csv = await kpi.client.get(
        f"{kpi.url}/v1/kpis/summary",
        params={"brand_id": brand, **window},
        headers={"Accept": "text/csv"},
        auth=READER,
    )
    [row] = list(csv.DictReader(io.StringIO(summary_csv.text)))
    assert float(row["first_response_business_mean_seconds"]) == 3600
    assert float(row["first_response_mean_seconds"]) == 63 * 3600
    assert row["backlog"] == "0"  # both resolved
    cases_csv = await kpi.client.get(
        f"{kpi.url}/v1/kpis/cases.csv", params={"brand_id": brand, **window}, auth=READER
    )
    rows = {row["case_id"]: row for row in csv.DictReader(io.StringIO(cases_csv.text))}
    assert rows[f"{brand}-c1"]["first_response_seconds"] == str(63 * 3600)
    assert rows[f"{brand}-c1"]["first_response_business_seconds"] == "3600"
    assert rows[f"{brand}-c2"]["first_response_business_seconds"] == ""
    assert rows[f"{brand}-c1"]["resolution_business_seconds"] == str(3 * 3600)
    assert rows[f"{brand}-c2"]["resolution_business_seconds"] == ""


async def test_summary_and_timeseries_as_csv(kpi: Kpi, brand: str) -> None:
    response = await kpi.client.get(
        f"{kpi.url}/v1/kpis/summary",
        params={"brand_id": brand, "group_by": "channel", **WINDOW},
        headers={"Accept": "text/csv"},
        auth=READER,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_channel = {row["channel"]: row for row in rows}
    assert by_channel["instagram"]["interactions"] == "1"
    assert by_channel["x"]["cases_opened"] == "3"
    series = await kpi.client.get(
        f"{kpi.url}/v1/kpis/timeseries",
        params={"brand_id": brand, "metric": "interactions", "interval": "hour", **WINDOW},
        auth=READER,
    )
    assert series.status_code == 200, series.text
    points = series.json()["points"]
    assert len(points) == 24
    assert points[1] == {"bucket": "2026-11-10T01:00:00Z", "value": 3}
    as_csv = await kpi.client.get(
        f"{kpi.url}/v1/kpis/timeseries",
        params={"brand_id": brand, "metric": "net_sentiment", "interval": "hour", **WINDOW},
        headers={"Accept": "text/csv"},
        auth=READER,
    )
    lines = as_csv.text.splitlines()
    assert lines[0] == "bucket,net_sentiment"
    assert lines[2].startswith("2026-11-10T01:00:00Z,33.3")


async def test_a_window_not_on_hour_boundaries_reads_minute_rows(kpi: Kpi, brand: str) -> None:
    response = await kpi.summary(
        READER, brand_id=brand, **{"from": "2026-11-10T01:00:30Z", "to": "2026-11-10T01:02:00Z"}
    )
    kpis = response.json()["groups"][0]["kpis"]
    assert kpis["interactions"] == 2  # 01:00 (cut to the minute) and 01:01, not 01:02


async def test_cases_csv_has_one_row_per_visible_case(kpi: Kpi, brand: str) -> None:
    response = await kpi.client.get(
        f"{kpi.url}/v1/kpis/cases.csv", params={"brand_id": brand, **WINDOW}, auth=READER
    )
    assert response.status_code == 200
    rows = {row["case_id"]: row for row in csv.DictReader(io.StringIO(response.text))}
    assert set(rows) == {f"{brand}-c1", f"{brand}-c2", f"{brand}-c4"}
    assert rows[f"{brand}-c1"]["first_response_seconds"] == "600"
    assert rows[f"{brand}-c1"]["first_response_sla"] == "met"
    assert rows[f"{brand}-c2"]["first_reply_at"] == ""


async def test_brand_limit_answers_404(kpi: Kpi, brand: str) -> None:
    response = await kpi.summary(as_key("kpis:read", brands=["other"]), brand_id=brand, **WINDOW)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-11-10T00:00:00", "to": "2026-11-11T00:00:00Z"}, "from"),
        ({"from": "2026-11-11T00:00:00Z", "to": "2026-11-10T00:00:00Z"}, "to"),
        ({**WINDOW, "group_by": "weather"}, "group_by"),
        ({"to": "2026-11-11T00:00:00Z"}, "from"),
    ],
)
async def test_bad_summary_parameters_name_the_field(
    kpi: Kpi, params: dict[str, str], field: str
) -> None:
    response = await kpi.summary(READER, brand_id="acme", **params)
    assert response.status_code == 422, response.text
    body = response.json()
    fields = [error["field"] for error in body.get("errors", [])] or [body["field"]]
    assert field in fields


async def test_bad_timeseries_parameters_name_the_field(kpi: Kpi) -> None:
    base = {"brand_id": "acme", "from": "2026-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    for params, field in (
        ({**base, "metric": "happiness"}, "metric"),
        ({**base, "metric": "interactions", "interval": "minute"}, "interval"),
    ):
        response = await kpi.client.get(f"{kpi.url}/v1/kpis/timeseries", params=params, auth=READER)
        assert response.status_code == 422, response.text
        body = response.json()
        fields = [error["field"] for error in body.get("errors", [])] or [body["field"]]
        assert field in fields


async def test_without_the_scope_403(kpi: Kpi) -> None:
    response = await kpi.summary(as_key("cases:read"), brand_id="acme", **WINDOW)
    assert response.status_code == 403
