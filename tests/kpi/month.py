"""A generated month of one brand's social care (Spanish and English), as events, and every KPI
computed from those raw events directly, following DESIGN.md's definitions (independently of
services/kpi: no import from it)."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.business_hours import BusinessCalendar
from shared.events.cases import SlaKind
from shared.events.envelope import Envelope
from tests.kpi import events

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
CHANNELS = ["x", "instagram", "facebook", "google_reviews", "whatsapp"]
INTENTS = {
    "complaint": "customer_service",
    "question": "customer_service",
    "purchase_intent": "sales",
    "press_inquiry": "pr",
    "job_inquiry": "hr",
    "praise": "marketing",
    "feedback_idea": "marketing",
}
MEMBERS = {
    "customer_service": ["cs-ana", "cs-ben", "cs-carla"],
    "sales": ["sa-dario"],
    "pr": ["pr-eva"],
    "hr": ["hr-fer"],
    "marketing": ["mk-gil", "mk-hana"],
}
# Each department's business hours (time zone, weekly openings, holidays): routing measures
# response times in them, and the reply events carry the figures (`*_business_seconds`).
CALENDARS: dict[str, tuple[str, dict[int, list[tuple[str, str]]], frozenset[date]]] = {
    "customer_service": (
        "Europe/Madrid",
        {**{day: [("09:00", "18:00")] for day in range(5)}, 5: [("10:00", "14:00")]},
        frozenset({date(2026, 11, 9)}),  # Almudena, a Madrid holiday
    ),
    "sales": (
        "Europe/Madrid",
        {day: [("09:00", "14:00"), ("16:00", "19:00")] for day in range(5)},
        frozenset(),
    ),
    "pr": ("Europe/Madrid", {day: [("08:00", "20:00")] for day in range(5)}, frozenset()),
    "hr": ("Europe/Madrid", {day: [("09:00", "15:00")] for day in range(5)}, frozenset()),
    "marketing": (
        "America/Mexico_City",
        {day: [("10:00", "22:00")] for day in range(7)},
        frozenset(),
    ),
}
ROUTING_CALENDARS = {
    department: BusinessCalendar(zone, weekly, holidays)
    for department, (zone, weekly, holidays) in CALENDARS.items()
}
TEXTS = {
    "es": ["El pedido llegó roto y nadie responde", "¿Tienen talla M?", "Me encanta, gracias"],
    "en": ["My order arrived broken", "Do you ship to Canada?", "Love it, thank you!"],
}


@dataclass
class Case:
    case_id: str
    channel: str
    department: str
    assignee: str | None
    intent: str
    first_inbound_at: datetime
    opened_at: datetime
    resolved_at: datetime | None
    target_seconds: int | None
    breached_at: datetime | None = None
    replies: list[tuple[str, datetime, datetime | None, str]] = field(default_factory=list)
    # Whether its replies carry business-hours figures (one case in ten was answered by a
    # routing version that did not measure them).
    business: bool = True


@dataclass
class Month:
    brand: str
    envelopes: list[Envelope]
    interactions: list[
        tuple[str, datetime, str, float, bool, bool]
    ]  # channel, created, label, score, own, deleted
    cases: list[Case]
    checks: list[tuple[str, datetime, bool, str]]  # unit, checked, passed, channel
    engagement: list[tuple[str, datetime, int, int, int, int | None]]


def generate(brand: str, *, cases: int = 2500, seed: int = 7) -> Month:
    rng = random.Random(seed)
    envelopes: list[Envelope] = []
    counter = iter(range(10**9))

    def eid() -> str:
        return f"{brand}-e{next(counter)}"

    def moment() -> datetime:
        # Busier in working hours (a Monday-morning peak, quiet nights).
        day = rng.randrange(30)
        hour = rng.choices(range(24), weights=[1] * 7 + [6] * 12 + [2] * 5)[0]
        return START + timedelta(days=day, hours=hour, seconds=rng.randrange(3600))

    interactions = []
    month_cases: list[Case] = []
    for index in range(cases):
        lang = rng.choice(["es", "en"])
        channel = rng.choice(CHANNELS)
        intent = rng.choice(list(INTENTS))
        department = INTENTS[intent]
        label = rng.choices(["negative", "neutral", "positive"], weights=[3, 4, 3])[0]
        score = {"negative": -0.6, "neutral": 0.0, "positive": 0.7}[label] + rng.choice(
            [-0.1, 0, 0.1]
        )
        created = moment()
        if created + timedelta(days=1) >= END:
            created -= timedelta(days=2)
        interaction_id = f"{brand}-i{index}"
        envelopes.append(
            events.interaction(
                eid(),
                brand=brand,
                interaction_id=interaction_id,
                channel=channel,
                created_at=created,
                time=created + timedelta(seconds=2),
                label=label,
                score=round(score, 2),
                lang=lang,
                thread_id=f"c{index}",
                text=rng.choice(TEXTS[lang]),
            )
        )
        deleted = rng.random() < 0.02
        if deleted:
            envelopes.append(
                events.deletion(
                    eid(),
                    brand=brand,
                    interaction_id=interaction_id,
                    channel=channel,
                    at=created + timedelta(minutes=5),
                )
            )
        interactions.append((channel, created, label, round(score, 2), False, deleted))
        case_id = f"{brand}-c{index}"
        opened = created + timedelta(seconds=rng.randrange(1, 20))
        target = rng.choice([None, 3600, 4 * 3600])
        assignee = rng.choice([*MEMBERS[department], None])
        case = Case(case_id, channel, department, assignee, intent, created, opened, None, target)
        case.business = index % 10 != 0
        calendar = ROUTING_CALENDARS[department]
        common: dict[str, Any] = {
            "brand": brand,
            "case_id": case_id,
            "channel": channel,
            "department": department,
            "intent": intent,
            "first_inbound_at": created,
            "opened_at": opened,
            "target_seconds": target,
        }
        envelopes.append(
            events.case(
                eid(), event_type="case.opened", assignee=None, occurred_at=opened, **common
            )
        )
        if assignee:
            envelopes.append(
                events.case(
                    eid(),
                    event_type="case.assigned",
                    assignee=assignee,
                    occurred_at=opened + timedelta(seconds=30),
                    **common,
                )
            )
        replies = rng.choices([0, 1, 2, 3], weights=[1, 5, 3, 1])[0]
        sent = created
        for number in range(replies):
            wait = timedelta(seconds=int(rng.lognormvariate(7.5, 1.0)))
            answers = sent + timedelta(seconds=rng.randrange(60, 600)) if number else None
            sent = (answers or sent) + wait
            reply_id = f"{case_id}-r{number}"
            author = assignee or rng.choice(MEMBERS[department])
            case.replies.append((reply_id, sent, answers, author))
            envelopes.append(
                events.reply(
                    eid(),
                    brand=brand,
                    case_id=case_id,
                    reply_id=reply_id,
                    channel=channel,
                    department=department,
                    author=author,
                    sent_at=sent,
                    answers_inbound_at=answers,
                    first_inbound_business_seconds=(
                        calendar.business_seconds_between(created, sent) if case.business else None
                    ),
                    answers_inbound_business_seconds=(
                        calendar.business_seconds_between(answers, sent)
                        if case.business and answers is not None
                        else None
                    ),
                )
            )
        if target is not None:
            first_sent = case.replies[0][1] if case.replies else None
            due = created + timedelta(seconds=target)
            if first_sent is None or first_sent > due:
                if first_sent is None and due >= END:
                    pass
                else:
                    case.breached_at = due
                    envelopes.append(
                        events.case(
                            eid(),
                            event_type="case.sla_breached",
                            assignee=assignee,
                            occurred_at=due,
                            sla_kind=SlaKind.first_response,
                            **common,
                        )
                    )
        if case.replies and rng.random() < 0.7:
            resolved = case.replies[-1][1] + timedelta(minutes=rng.randrange(1, 600))
            case.resolved_at = resolved
            envelopes.append(
                events.case(
                    eid(),
                    event_type="case.resolved",
                    assignee=assignee,
                    occurred_at=resolved,
                    resolved_at=resolved,
                    resolution_business_seconds=(
                        calendar.business_seconds_between(opened, resolved)
                        if case.business
                        else None
                    ),
                    **common,
                )
            )
        month_cases.append(case)
    # Interactions no case came from (praise under a post, the brand's own posts).
    for index in range(cases, cases + cases // 2):
        created = moment()
        channel = rng.choice(CHANNELS)
        own = rng.random() < 0.1
        label = rng.choice(["positive", "neutral"])
        envelopes.append(
            events.interaction(
                eid(),
                brand=brand,
                interaction_id=f"{brand}-i{index}",
                channel=channel,
                created_at=created,
                time=created,
                label=label,
                score=0.5 if label == "positive" else 0.0,
                own=own,
                thread_id=f"p{index}",
            )
        )
        interactions.append(
            (channel, created, label, 0.5 if label == "positive" else 0.0, own, False)
        )
    checks = []
    for case in month_cases:
        for reply_id, sent, _answers, _author in case.replies:
            for number in range(rng.choice([1, 1, 2])):
                checked = sent - timedelta(minutes=2 - number)
                passed = rng.random() < (0.8 if number else 0.6)
                envelopes.append(
                    events.check(
                        eid(),
                        brand=brand,
                        check_id=f"{reply_id}-k{number}",
                        reply_id=reply_id,
                        passed=passed,
                        at=checked,
                        channel=case.channel,
                    )
                )
                checks.append((reply_id, checked, passed, case.channel))
    engagement = []
    for _ in range(cases):
        at = moment()
        channel = rng.choice(CHANNELS)
        likes, comments, shares = rng.randrange(50), rng.randrange(5), rng.randrange(5)
        views = rng.choice([None, rng.randrange(100, 5000)])
        envelopes.append(
            events.engagement(
                eid(),
                brand=brand,
                channel=channel,
                at=at,
                likes=likes,
                comments=comments,
                shares=shares,
                views=views,
            )
        )
        engagement.append((channel, at, likes, comments, shares, views))
    # Replays and out-of-order delivery: some events twice, everything shuffled.
    envelopes += rng.sample(envelopes, len(envelopes) // 20)
    rng.shuffle(envelopes)
    return Month(brand, envelopes, interactions, month_cases, checks, engagement)


def _quantile(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(1, math.ceil(q * len(ordered) - 1e-9)) - 1]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _percent(part: int, whole: int) -> float | None:
    return part * 100 / whole if whole else None


def open_seconds(department: str, start: datetime, end: datetime) -> float:
    """Seconds from `start` to `end` while the department's calendar is open: each local day's
    openings turned into UTC instants and intersected with the span (no clock change falls in
    the month's zones, so local wall times are enough)."""
    zone_name, weekly, holidays = CALENDARS[department]
    zone = ZoneInfo(zone_name)
    total = 0.0
    day = start.astimezone(zone).date() - timedelta(days=1)
    while day <= end.astimezone(zone).date():
        if day not in holidays:
            for opens, closes in weekly.get(day.weekday(), []):
                low = datetime.combine(day, time.fromisoformat(opens), zone).astimezone(UTC)
                high = datetime.combine(day, time.fromisoformat(closes), zone).astimezone(UTC)
                total += max(0.0, (min(high, end) - max(low, start)).total_seconds())
        day += timedelta(days=1)
    return total


def expected(
    month: Month, start: datetime, end: datetime, department: str | None = None
) -> dict[str, float | int | None]:
    """Every KPI of the window [start, end) for a key that sees everything (or one department)."""

    def inside(moment: datetime | None) -> bool:
        return moment is not None and start <= moment < end

    brand_wide = department is None
    kept = [i for i in month.interactions if brand_wide and inside(i[1]) and not i[4] and not i[5]]
    labels: defaultdict[str, int] = defaultdict(int)
    for interaction in kept:
        labels[interaction[2]] += 1
    cases = [case for case in month.cases if department in (None, case.department)]
    opened = [case for case in cases if inside(case.opened_at)]
    first_times = [
        (case.replies[0][1] - case.first_inbound_at).total_seconds()
        for case in opened
        if case.replies
    ]
    first_business = [
        open_seconds(case.department, case.first_inbound_at, case.replies[0][1])
        for case in opened
        if case.replies and case.business
    ]
    resolved = [case for case in cases if inside(case.resolved_at)]
    resolution = [
        (case.resolved_at - case.opened_at).total_seconds() for case in resolved if case.resolved_at
    ]
    sla_ended = sla_met = 0
    for case in cases:
        if case.target_seconds is None:
            continue
        if case.replies:
            ended = case.replies[0][1]
            met = (ended - case.first_inbound_at).total_seconds() <= case.target_seconds
        elif case.breached_at is not None:
            ended, met = case.breached_at, False
        else:
            continue
        if inside(ended):
            sla_ended += 1
            sla_met += int(met)
    replies = [(case, reply) for case in cases for reply in case.replies if inside(reply[1])]
    next_times = [
        (reply[1] - reply[2]).total_seconds()
        for case, reply in replies
        if reply is not case.replies[0] and reply[2] is not None
    ]
    next_business = [
        open_seconds(case.department, reply[2], reply[1])
        for case, reply in replies
        if reply is not case.replies[0] and reply[2] is not None and case.business
    ]
    resolution_business = [
        open_seconds(case.department, case.opened_at, case.resolved_at)
        for case in resolved
        if case.resolved_at and case.business
    ]
    first_checks: dict[str, tuple[datetime, bool]] = {}
    for unit, checked, passed, _channel in month.checks:
        if unit not in first_checks or checked < first_checks[unit][0]:
            first_checks[unit] = (checked, passed)
    first_passes = [
        passed for moment, passed in first_checks.values() if brand_wide and inside(moment)
    ]
    engagement = [e for e in month.engagement if brand_wide and inside(e[1])]
    likes = sum(e[2] for e in engagement)
    comments = sum(e[3] for e in engagement)
    shares = sum(e[4] for e in engagement)
    views = sum(e[5] or 0 for e in engagement)
    total = labels["positive"] + labels["neutral"] + labels["negative"]
    return {
        "interactions": len(kept),
        "cases_opened": len(opened),
        "cases_responded": len(first_times),
        "response_rate": _percent(len(first_times), len(opened)),
        "first_response_count": len(first_times),
        "first_response_mean_seconds": _mean(first_times),
        "first_response_median_seconds": _quantile(first_times, 0.5),
        "first_response_p90_seconds": _quantile(first_times, 0.9),
        "first_response_business_count": len(first_business),
        "first_response_business_mean_seconds": _mean(first_business),
        "first_response_business_median_seconds": _quantile(first_business, 0.5),
        "first_response_business_p90_seconds": _quantile(first_business, 0.9),
        "next_response_count": len(next_times),
        "next_response_mean_seconds": _mean(next_times),
        "next_response_median_seconds": _quantile(next_times, 0.5),
        "next_response_p90_seconds": _quantile(next_times, 0.9),
        "next_response_business_count": len(next_business),
        "next_response_business_mean_seconds": _mean(next_business),
        "next_response_business_median_seconds": _quantile(next_business, 0.5),
        "next_response_business_p90_seconds": _quantile(next_business, 0.9),
        "cases_resolved": len(resolution),
        "resolution_mean_seconds": _mean(resolution),
        "resolution_median_seconds": _quantile(resolution, 0.5),
        "resolution_p90_seconds": _quantile(resolution, 0.9),
        "resolution_business_count": len(resolution_business),
        "resolution_business_mean_seconds": _mean(resolution_business),
        "resolution_business_median_seconds": _quantile(resolution_business, 0.5),
        "resolution_business_p90_seconds": _quantile(resolution_business, 0.9),
        "sla_ended": sla_ended,
        "sla_met": sla_met,
        "sla_compliance": _percent(sla_met, sla_ended),
        "replies_sent": len(replies),
        "sentiment_positive": labels["positive"],
        "sentiment_neutral": labels["neutral"],
        "sentiment_negative": labels["negative"],
        "sentiment_total": total,
        "net_sentiment": _percent(labels["positive"] - labels["negative"], total),
        "sentiment_mean_score": _mean([i[3] for i in kept]),
        "likes": likes,
        "comments": comments,
        "shares": shares,
        "views": views,
        "engagement_rate": _percent(likes + comments + shares, views),
        "replies_checked": len(first_passes),
        "replies_first_pass": sum(first_passes),
        "guideline_first_pass_rate": _percent(sum(first_passes), len(first_passes)),
        # Ideas are collected by the audience consumer, which this month's service runs without
        # (tests/kpi/test_ideas_api.py counts them).
        "ideas_collected": 0,
    }
