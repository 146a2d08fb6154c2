"""Fans: fold interactions and cases into profiles and people; list, show and link them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.fans import repository
from services.kpi.fans.exceptions import FanLinkError, FanNotFoundError
from services.kpi.fans.models import FanCase, FanInteraction, FanPerson, FanProfile
from services.kpi.fans.schemas import (
    CaseOutcomes,
    FanCaseRead,
    FanDetail,
    FanProfileRead,
    FanRead,
    SentimentCounts,
    SentimentDay,
)
from services.kpi.fans.scoring import Thresholds, score
from shared.auth import Principal, Scope, ensure_brand_visible
from shared.events.cases import CaseEvent
from shared.events.interactions import (
    Author,
    EngagementRecorded,
    Interaction,
    InteractionDeleted,
)

FAN_NAMESPACE = uuid.UUID("0b8c2f7e-3d5a-4f61-a2a4-7d1c9e5b6f30")
HISTORY_INTERACTIONS = 500
RECENT_CASES = 20


def profile_id(brand_id: str, channel: str, author_external_id: str) -> str:
    """Stable: the same author on the same channel of a brand is always the same profile."""
    return str(uuid.uuid5(FAN_NAMESPACE, f"{brand_id}|{channel}|{author_external_id}"))


def _new_person(identifier: str, brand_id: str, seen_at: datetime) -> dict[str, object]:
    counters = (
        "followers interactions positive neutral negative likes comments shares views cases "
        "hr_cases"
    ).split()
    return {
        "id": identifier,
        "brand_id": brand_id,
        **dict.fromkeys(counters, 0),
        "sentiment_sum": 0.0,
        "influence": 0.0,
        "advocacy": 0.0,
        "detraction": 0.0,
        **dict.fromkeys(("verified", "hr_only", "advocate", "detractor"), False),
        "first_seen_at": seen_at,
        "last_contact_at": seen_at,
    }


async def _profile(
    session: AsyncSession,
    *,
    brand_id: str,
    channel: str,
    author: Author,
    seen_at: datetime,
) -> tuple[str, str]:
    """(profile id, person id) of the author, created or brought up to date in one statement."""
    assert author.external_id is not None
    identifier = profile_id(brand_id, channel, author.external_id)
    profile, person = await repository.upsert_profile(
        session,
        {
            "id": identifier,
            "brand_id": brand_id,
            "channel": channel,
            "author_external_id": author.external_id,
            "person_id": identifier,
            "handle": author.handle,
            "display_name": author.display_name,
            "followers": author.followers,
            "verified": bool(author.verified),
            "first_seen_at": seen_at,
            "last_contact_at": seen_at,
        },
    )
    if person == identifier:
        await repository.add_person(session, _new_person(identifier, brand_id, seen_at))
    return profile, person


async def record_interaction(
    session: AsyncSession,
    interaction: Interaction,
    thresholds: Thresholds,
    touched: set[str] | None = None,
) -> str | None:
    """Count the interaction for its author's profile; the profile id (None: no author, or the
    brand's own message). With `touched`, the person is added to it for the caller to refresh
    once per poll (`refresh_people`) instead of now."""
    author = interaction.author
    if interaction.flags.own_message or not author.external_id:
        return None
    profile, person = await _profile(
        session,
        brand_id=interaction.brand_id,
        channel=interaction.channel.value,
        author=author,
        seen_at=interaction.created_at,
    )
    metrics = interaction.metrics
    await repository.upsert_interaction(
        session,
        {
            "interaction_id": interaction.id,
            "brand_id": interaction.brand_id,
            "profile_id": profile,
            "person_id": person,
            "channel": interaction.channel.value,
            "sentiment_label": interaction.sentiment.label.value if interaction.sentiment else None,
            "sentiment_score": interaction.sentiment.score if interaction.sentiment else None,
            "likes": metrics.likes or 0,
            "comments": metrics.comments or 0,
            "shares": metrics.shares or 0,
            "views": metrics.views or 0,
            "created_at": interaction.created_at,
        },
    )
    await _refresh_or_defer(session, person, thresholds, touched)
    return profile


async def forget_interaction(
    session: AsyncSession,
    deleted: InteractionDeleted,
    thresholds: Thresholds,
    touched: set[str] | None = None,
) -> None:
    person_id = await repository.delete_interaction(session, deleted.id)
    if person_id is not None:
        await _refresh_or_defer(session, person_id, thresholds, touched)


async def record_engagement(
    session: AsyncSession,
    records: Sequence[tuple[str, EngagementRecorded]],
    thresholds: Thresholds,
    touched: set[str] | None = None,
) -> None:
    """(event id, record) pairs: those on a known post count for its author (removals
    negative); a record on a post not folded yet counts once the post arrives."""
    rows = []
    for event_id, record in records:
        if record.interaction_id is None:
            continue  # engagement on a post ingest never saw: nobody's post
        sign = -1 if record.kind.endswith(".removed") else 1
        delta = record.delta
        rows.append(
            {
                "event_id": event_id,
                "brand_id": record.brand_id,
                "interaction_id": record.interaction_id,
                "likes": sign * (delta.likes or 0),
                "comments": sign * (delta.comments or 0),
                "shares": sign * (delta.shares or 0),
                "views": sign * (delta.views or 0),
                "occurred_at": record.occurred_at,
            }
        )
    await repository.insert_engagement(session, rows)
    people = await repository.people_of_interactions(
        session, [str(row["interaction_id"]) for row in rows]
    )
    for person in sorted(people):
        await _refresh_or_defer(session, person, thresholds, touched)


async def _refresh_or_defer(
    session: AsyncSession, person_id: str, thresholds: Thresholds, touched: set[str] | None
) -> None:
    if touched is None:
        await refresh_person(session, person_id, thresholds)
    else:
        touched.add(person_id)


async def refresh_people(session: AsyncSession, people: set[str], thresholds: Thresholds) -> None:
    """Refresh each person once (in id order: two consumers lock people in the same order)."""
    for person_id in sorted(people):
        await refresh_person(session, person_id, thresholds)


async def record_case(
    session: AsyncSession,
    case: CaseEvent,
    thresholds: Thresholds,
    touched: set[str] | None = None,
) -> None:
    """Keep the case's latest state for the profile of the author who opened it."""
    if not case.author_external_id:
        return
    known = await repository.find_profile(
        session, case.brand_id, case.channel.value, case.author_external_id
    )
    if known is not None:
        profile, person = known.id, known.person_id
    else:  # the case came first: its opening message is the author's contact
        profile, person = await _profile(
            session,
            brand_id=case.brand_id,
            channel=case.channel.value,
            author=Author(external_id=case.author_external_id, followers=case.author_followers),
            seen_at=case.first_inbound_at,
        )
    await repository.upsert_case(
        session,
        {
            "case_id": case.case_id,
            "brand_id": case.brand_id,
            "profile_id": profile,
            "person_id": person,
            "channel": case.channel.value,
            "department": case.department,
            "intent": case.intent,
            "status": case.status.value,
            "opened_at": case.opened_at,
            "resolved_at": case.resolved_at,
            "updated_at": case.occurred_at,
        },
    )
    await _refresh_or_defer(session, person, thresholds, touched)


async def refresh_person(session: AsyncSession, person_id: str, thresholds: Thresholds) -> None:
    """Recompute the person's counts and scores from what is stored (idempotent, any order)."""
    person = await repository.lock_person(session, person_id)
    if person is None:
        return
    (
        count,
        positive,
        neutral,
        negative,
        score_sum,
        likes,
        comments,
        shares,
        views,
        cases,
        hr_cases,
        followers,
        verified,
        first_seen,
        last_contact,
        engaged_likes,
        engaged_comments,
        engaged_shares,
        engaged_views,
    ) = await repository.person_totals(session, person_id)
    # The post's counters when it was read, plus the engagement recorded on it since.
    likes, comments = int(likes) + int(engaged_likes), int(comments) + int(engaged_comments)
    shares, views = int(shares) + int(engaged_shares), int(views) + int(engaged_views)
    person.interactions, person.positive, person.neutral, person.negative = (
        count,
        positive,
        neutral,
        negative,
    )
    person.sentiment_sum = float(score_sum)
    person.likes, person.comments, person.shares, person.views = likes, comments, shares, views
    person.cases, person.hr_cases = cases, hr_cases
    person.hr_only = hr_cases > 0 and hr_cases == cases
    person.followers = int(followers or 0)
    person.verified = bool(verified)
    if first_seen is not None:
        person.first_seen_at = first_seen
    if last_contact is not None:
        person.last_contact_at = last_contact
    scores = score(
        followers=person.followers,
        engagement=likes + comments + shares,
        verified=person.verified,
        positive=positive,
        neutral=neutral,
        negative=negative,
        thresholds=thresholds,
    )
    person.influence, person.advocacy, person.detraction = (
        scores.influence,
        scores.advocacy,
        scores.detraction,
    )
    person.advocate, person.detractor = scores.advocate, scores.detractor
    await session.flush()


# ------------------------------------------------------------------------------------- reads


def may_read_personal_data(principal: Principal) -> bool:
    """Handles, names and platform ids are shown to keys that may read interactions."""
    return principal.has(Scope.interactions_read.value)


def _profile_read(profile: FanProfile, personal: bool) -> FanProfileRead:
    return FanProfileRead(
        id=profile.id,
        channel=profile.channel,
        author_external_id=profile.author_external_id if personal else None,
        handle=profile.handle if personal else None,
        display_name=profile.display_name if personal else None,
        followers=profile.followers,
        verified=profile.verified,
        first_seen_at=profile.first_seen_at,
        last_contact_at=profile.last_contact_at,
    )


def _fan_fields(
    person: FanPerson, profiles: list[FanProfile], principal: Principal
) -> dict[str, object]:
    personal = may_read_personal_data(principal)
    labelled = person.positive + person.neutral + person.negative
    return {
        "id": person.id,
        "brand_id": person.brand_id,
        "channels": sorted({profile.channel for profile in profiles}),
        "profiles": [_profile_read(profile, personal) for profile in profiles],
        "followers": person.followers,
        "verified": person.verified,
        "interactions": person.interactions,
        "sentiment": SentimentCounts(
            positive=person.positive,
            neutral=person.neutral,
            negative=person.negative,
            mean_score=round(person.sentiment_sum / labelled, 4) if labelled else None,
        ),
        "likes": person.likes,
        "comments": person.comments,
        "shares": person.shares,
        "views": person.views,
        "cases": person.cases
        if principal.may_see_department("hr")
        else person.cases - person.hr_cases,
        "influence": person.influence,
        "advocacy": person.advocacy,
        "detraction": person.detraction,
        "advocate": person.advocate,
        "detractor": person.detractor,
        "first_seen_at": person.first_seen_at,
        "last_contact_at": person.last_contact_at,
    }


async def fan_reads(
    session: AsyncSession, people: list[FanPerson], principal: Principal
) -> list[FanRead]:
    reads = []
    for person in people:
        profiles = list(await repository.profiles_of(session, person.id))
        reads.append(FanRead.model_validate(_fan_fields(person, profiles, principal)))
    return reads


async def visible_person(session: AsyncSession, principal: Principal, fan_id: str) -> FanPerson:
    """The fan (following links: a fan linked into another answers as that one), or 404 when
    missing, of a brand the key may not see, or known only through HR cases to a non-HR key."""
    missing = FanNotFoundError(f"no fan {fan_id}", field="fan_id")
    person = await repository.get_person(session, fan_id)
    for _ in range(8):  # links are flattened when made; a short bound all the same
        if person is None or person.merged_into is None:
            break
        person = await repository.get_person(session, person.merged_into)
    if person is None or person.merged_into is not None:
        raise missing
    ensure_brand_visible(principal, person.brand_id, missing)
    if person.hr_only and not principal.may_see_department("hr"):
        raise missing
    return person


async def get_fan(session: AsyncSession, principal: Principal, fan_id: str) -> FanDetail:
    person = await visible_person(session, principal, fan_id)
    profiles = list(await repository.profiles_of(session, person.id))
    history = await repository.recent_interactions(session, person.id, HISTORY_INTERACTIONS)
    cases = await repository.cases_of(session, person.id, RECENT_CASES * 2)
    outcomes = CaseOutcomes()
    for department, status, count in await repository.case_outcomes(session, person.id):
        if department is not None and not principal.may_see_department(department):
            continue
        if status in CaseOutcomes.model_fields:
            setattr(outcomes, status, getattr(outcomes, status) + count)
    visible_cases = [
        case
        for case in cases
        if case.department is None or principal.may_see_department(case.department)
    ][:RECENT_CASES]
    return FanDetail.model_validate(
        {
            **_fan_fields(person, profiles, principal),
            "sentiment_history": sentiment_history(history),
            "recent_cases": [_case_read(case) for case in visible_cases],
            "case_outcomes": outcomes,
        }
    )


def _case_read(case: FanCase) -> FanCaseRead:
    return FanCaseRead(
        case_id=case.case_id,
        channel=case.channel,
        department=case.department,
        intent=case.intent,
        status=case.status,
        opened_at=case.opened_at,
        resolved_at=case.resolved_at,
    )


def sentiment_history(interactions: Sequence[FanInteraction]) -> list[SentimentDay]:
    days: dict[date, list[float]] = defaultdict(list)
    counts: dict[date, dict[str, int]] = defaultdict(
        lambda: {"positive": 0, "neutral": 0, "negative": 0}
    )
    for interaction in interactions:
        if interaction.sentiment_label is None:
            continue
        day = interaction.created_at.date()
        counts[day][interaction.sentiment_label] += 1
        if interaction.sentiment_score is not None:
            days[day].append(interaction.sentiment_score)
    return [
        SentimentDay(
            day=day,
            **counts[day],
            mean_score=round(sum(days[day]) / len(days[day]), 4) if days[day] else None,
        )
        for day in sorted(counts)
    ]


async def link(
    session: AsyncSession,
    principal: Principal,
    fan_id: str,
    other_id: str,
    thresholds: Thresholds,
) -> FanDetail:
    """Link `other_id` into `fan_id`: one person with both's profiles, counts and cases."""
    target = await visible_person(session, principal, fan_id)
    other = await visible_person(session, principal, other_id)
    if other.id == target.id:
        return await get_fan(session, principal, target.id)  # already one person
    if other.brand_id != target.brand_id:
        raise FanLinkError(
            "only fans of the same brand can be linked", field="fan_id", reason="other_brand"
        )
    await repository.move_person(session, other.id, target.id)
    other.merged_into = target.id
    other.advocate = other.detractor = False
    await session.flush()
    await refresh_person(session, target.id, thresholds)
    return await get_fan(session, principal, target.id)
