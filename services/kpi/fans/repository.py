"""Every query of the fans."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, and_, case, delete, false, func, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.fans.models import FanCase, FanEngagement, FanInteraction, FanPerson, FanProfile
from shared.auth import brand_condition


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    return sqlite.insert if dialect == "sqlite" else postgresql.insert


async def find_profile(
    session: AsyncSession, brand_id: str, channel: str, author_external_id: str
) -> FanProfile | None:
    return await session.scalar(
        select(FanProfile).where(
            FanProfile.brand_id == brand_id,
            FanProfile.channel == channel,
            FanProfile.author_external_id == author_external_id,
        )
    )


async def upsert_profile(session: AsyncSession, values: dict[str, Any]) -> tuple[str, str]:
    """Insert the profile, or bring it up to date: who the author is now comes from their
    newest post (handle, name, followers, verified). Returns (profile id, person id)."""
    insert = _insert(session)
    statement = insert(FanProfile).values(**values)
    excluded = statement.excluded
    newest = excluded.last_contact_at >= FanProfile.last_contact_at
    result = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[FanProfile.brand_id, FanProfile.channel, FanProfile.author_external_id],
            set_={
                "handle": case(
                    (and_(newest, excluded.handle.is_not(None)), excluded.handle),
                    else_=FanProfile.handle,
                ),
                "display_name": case(
                    (and_(newest, excluded.display_name.is_not(None)), excluded.display_name),
                    else_=FanProfile.display_name,
                ),
                "followers": case(
                    (and_(newest, excluded.followers.is_not(None)), excluded.followers),
                    else_=func.coalesce(FanProfile.followers, excluded.followers),
                ),
                "verified": case((newest, excluded.verified), else_=FanProfile.verified),
                "first_seen_at": case(
                    (excluded.first_seen_at < FanProfile.first_seen_at, excluded.first_seen_at),
                    else_=FanProfile.first_seen_at,
                ),
                "last_contact_at": case(
                    (newest, excluded.last_contact_at), else_=FanProfile.last_contact_at
                ),
            },
        ).returning(FanProfile.id, FanProfile.person_id)
    )
    profile_id, person_id = result.one()
    return profile_id, person_id


async def add_person(session: AsyncSession, values: dict[str, Any]) -> None:
    """The person of a new profile (nothing if it exists already)."""
    insert = _insert(session)
    await session.execute(insert(FanPerson).values(**values).on_conflict_do_nothing())


async def get_person(session: AsyncSession, person_id: str) -> FanPerson | None:
    return await session.get(FanPerson, person_id)


async def lock_person(session: AsyncSession, person_id: str) -> FanPerson | None:
    return await session.scalar(
        select(FanPerson).where(FanPerson.id == person_id).with_for_update()
    )


async def upsert_interaction(session: AsyncSession, values: dict[str, Any]) -> None:
    insert = _insert(session)
    statement = insert(FanInteraction).values(**values)
    changing = (
        "sentiment_label",
        "sentiment_score",
        "likes",
        "comments",
        "shares",
        "views",
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[FanInteraction.interaction_id],
            set_={name: statement.excluded[name] for name in changing},
        )
    )


async def delete_interaction(session: AsyncSession, interaction_id: str) -> str | None:
    """Forget the interaction; the person it counted for, if it was known."""
    result = await session.execute(
        delete(FanInteraction)
        .where(FanInteraction.interaction_id == interaction_id)
        .returning(FanInteraction.person_id)
    )
    return result.scalar()


async def upsert_case(session: AsyncSession, values: dict[str, Any]) -> None:
    """Keep the newest snapshot of the case (events may arrive out of order)."""
    insert = _insert(session)
    statement = insert(FanCase).values(**values)
    changing = ("department", "intent", "status", "resolved_at", "updated_at")
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[FanCase.case_id],
            set_={name: statement.excluded[name] for name in changing},
            where=FanCase.updated_at <= statement.excluded.updated_at,
        )
    )


async def insert_engagement(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Engagement records on fans' posts, each once (keyed by event id), in one statement."""
    if rows:
        await session.execute(
            _insert(session)(FanEngagement).on_conflict_do_nothing(
                index_elements=[FanEngagement.event_id]
            ),
            list(rows),
        )


async def people_of_interactions(session: AsyncSession, interaction_ids: Sequence[str]) -> set[str]:
    """The people the interactions count for (those known as fans' posts)."""
    if not interaction_ids:
        return set()
    rows = await session.scalars(
        select(FanInteraction.person_id)
        .where(FanInteraction.interaction_id.in_(sorted(set(interaction_ids))))
        .distinct()
    )
    return set(rows.all())


async def person_totals(session: AsyncSession, person_id: str) -> tuple[Any, ...]:
    """In one round trip: interactions (count, by label, score sum, likes, comments, shares,
    views), cases (count, HR's), profiles (largest followers, any verified, first seen, last
    contact) and later engagement on the posts (likes, comments, shares, views) of the
    person."""
    label = FanInteraction.sentiment_label
    interactions = (
        select(
            func.count().label("count"),
            func.count().filter(label == "positive").label("positive"),
            func.count().filter(label == "neutral").label("neutral"),
            func.count().filter(label == "negative").label("negative"),
            func.coalesce(func.sum(FanInteraction.sentiment_score), 0.0).label("score"),
            func.coalesce(func.sum(FanInteraction.likes), 0).label("likes"),
            func.coalesce(func.sum(FanInteraction.comments), 0).label("comments"),
            func.coalesce(func.sum(FanInteraction.shares), 0).label("shares"),
            func.coalesce(func.sum(FanInteraction.views), 0).label("views"),
        )
        .where(FanInteraction.person_id == person_id)
        .subquery()
    )
    cases = (
        select(
            func.count().label("cases"),
            func.count().filter(FanCase.department == "hr").label("hr_cases"),
        )
        .where(FanCase.person_id == person_id)
        .subquery()
    )
    profiles = (
        select(
            func.coalesce(func.max(FanProfile.followers), 0).label("followers"),
            func.coalesce(func.max(FanProfile.verified.cast(Integer)), 0).label("verified"),
            func.min(FanProfile.first_seen_at).label("first_seen"),
            func.max(FanProfile.last_contact_at).label("last_contact"),
        )
        .where(FanProfile.person_id == person_id)
        .subquery()
    )
    engagement = (
        select(
            func.coalesce(func.sum(FanEngagement.likes), 0).label("engaged_likes"),
            func.coalesce(func.sum(FanEngagement.comments), 0).label("engaged_comments"),
            func.coalesce(func.sum(FanEngagement.shares), 0).label("engaged_shares"),
            func.coalesce(func.sum(FanEngagement.views), 0).label("engaged_views"),
        )
        .join(FanInteraction, FanInteraction.interaction_id == FanEngagement.interaction_id)
        .where(FanInteraction.person_id == person_id)
        .subquery()
    )
    # One row each: joined on nothing, without a cartesian-product warning.
    joined = interactions.join(cases, true()).join(profiles, true()).join(engagement, true())
    row = (
        await session.execute(select(interactions, cases, profiles, engagement).select_from(joined))
    ).one()
    return tuple(row)


async def profiles_of(session: AsyncSession, person_id: str) -> Sequence[FanProfile]:
    return (
        await session.scalars(
            select(FanProfile)
            .where(FanProfile.person_id == person_id)
            .order_by(FanProfile.first_seen_at, FanProfile.id)
        )
    ).all()


async def cases_of(session: AsyncSession, person_id: str, limit: int) -> Sequence[FanCase]:
    return (
        await session.scalars(
            select(FanCase)
            .where(FanCase.person_id == person_id)
            .order_by(FanCase.opened_at.desc(), FanCase.case_id)
            .limit(limit)
        )
    ).all()


async def case_outcomes(
    session: AsyncSession, person_id: str
) -> Sequence[tuple[str | None, str, int]]:
    """(department, status, count) of the person's cases."""
    return (
        await session.execute(
            select(FanCase.department, FanCase.status, func.count())
            .where(FanCase.person_id == person_id)
            .group_by(FanCase.department, FanCase.status)
        )
    ).all()


async def recent_interactions(
    session: AsyncSession, person_id: str, limit: int
) -> Sequence[FanInteraction]:
    return (
        await session.scalars(
            select(FanInteraction)
            .where(FanInteraction.person_id == person_id)
            .order_by(FanInteraction.created_at.desc(), FanInteraction.interaction_id)
            .limit(limit)
        )
    ).all()


SORT_COLUMNS = {
    "influence": FanPerson.influence,
    "advocacy": FanPerson.advocacy,
    "detraction": FanPerson.detraction,
}


async def list_people(
    session: AsyncSession,
    *,
    brand_id: str,
    brands: frozenset[str] | None,
    sort: str,
    hide_hr_only: bool,
    advocates_only: bool = False,
    after: tuple[float, str] | None,
    limit: int,
) -> Sequence[FanPerson]:
    column = SORT_COLUMNS[sort]
    query = select(FanPerson).where(
        FanPerson.brand_id == brand_id,
        brand_condition(FanPerson.brand_id, brands),
        FanPerson.merged_into.is_(None),
    )
    if hide_hr_only:
        query = query.where(FanPerson.hr_only == false())
    if advocates_only:
        query = query.where(FanPerson.advocate.is_(True))
    if after is not None:
        value, last_id = after
        query = query.where(or_(column < value, and_(column == value, FanPerson.id > last_id)))
    return (await session.scalars(query.order_by(column.desc(), FanPerson.id).limit(limit))).all()


async def move_person(session: AsyncSession, source_id: str, target_id: str) -> None:
    """Every profile, interaction and case of `source_id` now belongs to `target_id`."""
    for model in (FanProfile, FanInteraction, FanCase):  # engagement follows its interaction
        await session.execute(
            update(model).where(model.person_id == source_id).values(person_id=target_id)
        )
    await session.execute(
        update(FanPerson).where(FanPerson.merged_into == source_id).values(merged_into=target_id)
    )
