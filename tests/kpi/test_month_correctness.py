"""A realistic generated month (thousands of cases, replies, checks and engagement records in
Spanish and English, some events twice, all out of order) goes through Kafka into the kpi
service; every KPI the API returns equals the one computed in the test from the raw events
(medians and p90 within the sketch's stated 1 %)."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import pytest

from services.kpi.metrics.definitions import METRIC_NAMES
from services.kpi.rollups.sketch import ALPHA
from tests.kpi.conftest import Kpi, as_key
from tests.kpi.month import END, START, expected, generate

pytestmark = pytest.mark.integration

ADMIN = as_key("admin")
WINDOWS = [
    (START, END),  # whole days: day rows only
    (
        datetime.fromisoformat("2026-11-03T10:17:00Z"),
        datetime.fromisoformat("2026-11-20T15:43:00Z"),
    ),
    (
        datetime.fromisoformat("2026-11-09T08:00:00Z"),
        datetime.fromisoformat("2026-11-09T13:00:00Z"),
    ),
]


def assert_kpis_match(
    actual: dict[str, float | int | None], wanted: dict[str, float | int | None], where: str
) -> None:
    assert set(wanted) == set(METRIC_NAMES)
    for name in METRIC_NAMES:
        got, want = actual[name], wanted[name]
        message = f"{name} over {where}: API {got}, from the raw events {want}"
        if want is None or got is None:
            assert got == want, message
        elif name.endswith(("median_seconds", "p90_seconds")):
            assert got == pytest.approx(want, rel=ALPHA + 1e-9), message
        elif isinstance(want, int) and not isinstance(want, bool) and not name.endswith("seconds"):
            assert got == want, message
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), message


async def test_every_kpi_of_a_month_matches_an_independent_computation(kpi: Kpi) -> None:
    began = time.monotonic()
    month = generate(f"mes-{uuid.uuid4().hex[:8]}", cases=1000)
    assert len({case.case_id for case in month.cases}) == 1000
    await kpi.publish(month.envelopes)
    whole = expected(month, START, END)

    async def folded() -> bool:
        response = await kpi.summary(
            ADMIN, brand_id=month.brand, **{"from": START.isoformat(), "to": END.isoformat()}
        )
        kpis = response.json()["groups"][0]["kpis"]
        return all(
            kpis[name] == whole[name]
            for name in (
                "interactions",
                "cases_opened",
                "replies_sent",
                "replies_checked",
                "likes",
                "cases_resolved",
                "sla_ended",
            )
        )

    await kpi.wait_for(folded, within=90)
    for start, end in WINDOWS:
        response = await kpi.summary(
            ADMIN, brand_id=month.brand, **{"from": start.isoformat(), "to": end.isoformat()}
        )
        assert response.status_code == 200, response.text
        assert_kpis_match(
            response.json()["groups"][0]["kpis"], expected(month, start, end), f"{start}..{end}"
        )
    for department in ("customer_service", "hr"):
        response = await kpi.summary(
            ADMIN,
            brand_id=month.brand,
            department=department,
            **{"from": START.isoformat(), "to": END.isoformat()},
        )
        assert_kpis_match(
            response.json()["groups"][0]["kpis"],
            expected(month, START, END, department),
            department,
        )
    # Answers that wait over nights and weekends: far less business time than wall clock.
    business_count, wall_count = (
        whole["first_response_business_count"],
        whole["first_response_count"],
    )
    assert isinstance(business_count, int)
    assert isinstance(wall_count, int)
    assert 0 < business_count < wall_count  # one case in ten carries no business figure
    business_mean = whole["first_response_business_mean_seconds"]
    wall_mean = whole["first_response_mean_seconds"]
    assert isinstance(business_mean, float)
    assert isinstance(wall_mean, float)
    assert business_mean < wall_mean * 0.8
    # Workload: each member's backlog is the cases still open and assigned to them now; a key
    # that is not HR's sees no HR member.
    backlog: dict[str | None, int] = {}
    for case in month.cases:
        if case.resolved_at is None:
            backlog[case.assignee] = backlog.get(case.assignee, 0) + 1
    by_member = await kpi.summary(
        ADMIN,
        brand_id=month.brand,
        group_by="member",
        **{"from": START.isoformat(), "to": END.isoformat()},
    )
    got = {group["key"]["member"]: group["kpis"]["backlog"] for group in by_member.json()["groups"]}
    assert {member: count for member, count in got.items() if count} == backlog
    reader = await kpi.summary(
        as_key("kpis:read"),
        brand_id=month.brand,
        group_by="member",
        **{"from": START.isoformat(), "to": END.isoformat()},
    )
    seen = {group["key"]["member"] for group in reader.json()["groups"]}
    assert "hr-fer" not in seen
    assert "cs-ana" in seen
    # Grouped by day, the days add up to the month.
    by_day = await kpi.summary(
        ADMIN,
        brand_id=month.brand,
        group_by="day",
        **{"from": START.isoformat(), "to": END.isoformat()},
    )
    days = by_day.json()["groups"]
    assert len(days) == 30
    assert sum(day["kpis"]["cases_opened"] for day in days) == whole["cases_opened"]
    assert sum(day["kpis"]["replies_sent"] for day in days) == whole["replies_sent"]
    assert time.monotonic() - began < 120  # about 40 s on two busy cores
