"""Every query of the fans."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, and_, delete, false, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.fans.models import FanCase, FanInteraction, FanPerson, FanProfile
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


async def add_profile(session: AsyncSession, profile: FanProfile, person: FanPerson) -> FanProfile:
    """Insert the profile and its person unless another consumer just did; the stored one."""
    insert = _insert(session)
    values = {column.key: getattr(profile, column.key) for column in FanProfile.__table__.columns}
    result = await session.execute(
        insert(FanProfile).values(**values).on_conflict_do_nothing().returning(FanProfile.id)
    )
    if result.scalar() is not None:
        session.add(person)
        await session.flush()
    stored = await find_profile(
        session, profile.brand_id, profile.channel, profile.author_external_id
    )
    assert stored is not None
    return stored


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


async def interaction_totals(session: AsyncSession, person_id: str) -> tuple[Any, ...]:
    label = FanInteraction.sentiment_label
    return (
        (
            await session.execute(
                select(
                    func.count(),
                    func.count().filter(label == "positive"),
                    func.count().filter(label == "neutral"),
                    func.count().filter(label == "negative"),
                    func.coalesce(func.sum(FanInteraction.sentiment_score), 0.0),
                    func.coalesce(func.sum(FanInteraction.likes), 0),
                    func.coalesce(func.sum(FanInteraction.comments), 0),
                    func.coalesce(func.sum(FanInteraction.shares), 0),
                    func.coalesce(func.sum(FanInteraction.views), 0),
                ).where(FanInteraction.person_id == person_id)
            )
        )
        .tuples()
        .one()
    )


async def case_totals(session: AsyncSession, person_id: str) -> tuple[Any, ...]:
    return (
        (
            await session.execute(
                select(func.count(), func.count().filter(FanCase.department == "hr")).where(
                    FanCase.person_id == person_id
                )
            )
        )
        .tuples()
        .one()
    )


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
        (
            await session.execute(
                select(FanCase.department, FanCase.status, func.count())
                .where(FanCase.person_id == person_id)
                .group_by(FanCase.department, FanCase.status)
            )
        )
        .tuples()
        .all()
    )


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
    for model in (FanProfile, FanInteraction, FanCase):
        await session.execute(
            update(model).where(model.person_id == source_id).values(person_id=target_id)
        )
    await session.execute(
        update(FanPerson).where(FanPerson.merged_into == source_id).values(merged_into=target_id)
    )


async def profile_summary(session: AsyncSession, person_id: str) -> tuple[Any, ...]:
    """Largest follower count, any verified, first seen and last contact over the profiles."""
    return (
        (
            await session.execute(
                select(
                    func.coalesce(func.max(FanProfile.followers), 0),
                    func.max(FanProfile.verified.cast(Integer)),
                    func.min(FanProfile.first_seen_at),
                    func.max(FanProfile.last_contact_at),
                ).where(FanProfile.person_id == person_id)
            )
        )
        .tuples()
        .one()
    )
