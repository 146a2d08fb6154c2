"""Property: for any stream of events, in any order, with duplicates, cut into polls anyhow,
the incrementally folded rollups equal the rollups recomputed from the facts (the rebuild), and
equal those of the same events folded in their natural order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.kpi.ideas import service as ideas
from services.kpi.rollups.measures import MEASURES
from services.kpi.rollups.rebuild import rebuild
from services.routing.intents import Intent, IntentPrediction
from shared.db import create_engine, session_factory
from shared.events.cases import SlaKind
from shared.events.envelope import Envelope
from shared.events.interactions import Interaction
from tests.fixtures.services import migrated_database
from tests.kpi import events
from tests.kpi.folding import fold, read_rollups

pytestmark = pytest.mark.integration

BASE = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)  # streams cross an hour, a day and a month
minutes = st.integers(min_value=0, max_value=26 * 60)


def at(minute: int, second: int = 0) -> datetime:
    return BASE + timedelta(minutes=minute, seconds=second)


@dataclass(frozen=True)
class World:
    interactions: list[tuple[list[tuple[bool, int, int, str | None, float, bool]], int | None]]
    cases: list[
        tuple[
            int, list[tuple[str, int, str | None, str | None, int | None, int | None, int | None]]
        ]
    ]
    replies: list[tuple[int, int, int | None, str | None]]
    checks: list[tuple[int | None, bool, int]]
    engagement: list[tuple[int | None, int | None, int]]


snapshot = st.tuples(
    st.booleans(),  # updated (else received)
    minutes,  # created at
    minutes,  # event time
    st.sampled_from([None, "positive", "neutral", "negative"]),
    st.sampled_from([-0.8, 0.0, 0.25, 0.9]),
    st.booleans(),  # own message
)
case_event = st.tuples(
    st.sampled_from(
        ["case.opened", "case.assigned", "case.transferred", "case.resolved", "case.sla_breached"]
    ),
    minutes,  # occurred
    st.sampled_from(["customer_service", "hr", "pr", None]),
    st.sampled_from(["m-1", "m-2", None]),
    st.one_of(st.none(), st.integers(0, 600)),  # resolved, minutes after opening
    st.sampled_from([None, 60, 1800]),  # first-response target (s)
    st.one_of(st.none(), st.integers(0, 120)),  # due, minutes after first inbound
)
worlds = st.builds(
    World,
    interactions=st.lists(
        st.tuples(st.lists(snapshot, min_size=1, max_size=3), st.one_of(st.none(), minutes)),
        max_size=4,
    ),
    cases=st.lists(st.tuples(minutes, st.lists(case_event, min_size=1, max_size=4)), max_size=3),
    replies=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.integers(0, 300),
            st.one_of(st.none(), st.integers(0, 300)),
            st.sampled_from(["m-1", "m-3", None]),
        ),
        max_size=5,
    ),
    checks=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 4)), st.booleans(), minutes), max_size=4
    ),
    engagement=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 50)),
            st.one_of(st.none(), st.integers(0, 900)),
            minutes,
        ),
        max_size=3,
    ),
)


def stream(world: World, brand: str) -> list[Envelope]:
    out: list[Envelope] = []
    for index, (snapshots, deleted) in enumerate(world.interactions):
        interaction_id = f"{brand}-i{index}"
        for number, (updated, created, time, label, score, own) in enumerate(snapshots):
            out.append(
                events.interaction(
                    f"{brand}-i{index}-{number}",
                    brand=brand,
                    interaction_id=interaction_id,
                    created_at=at(created),
                    time=at(time, number),
                    label=label,
                    score=score,
                    own=own,
                    event_type="interaction.updated" if updated else "interaction.received",
                )
            )
        if deleted is not None:
            out.append(
                events.deletion(
                    f"{brand}-i{index}-d",
                    brand=brand,
                    interaction_id=interaction_id,
                    at=at(deleted),
                )
            )
    case_ids = [f"{brand}-c{index}" for index in range(len(world.cases))]
    for index, (first, case_events) in enumerate(world.cases):
        for number, (kind, occurred, department, assignee, resolved, target, due) in enumerate(
            case_events
        ):
            out.append(
                events.case(
                    f"{brand}-c{index}-{number}",
                    brand=brand,
                    case_id=case_ids[index],
                    event_type=kind,
                    department=department,
                    assignee=assignee,
                    first_inbound_at=at(first),
                    opened_at=at(first, 30),
                    occurred_at=at(occurred, number),
                    resolved_at=at(first + resolved) if resolved is not None else None,
                    target_seconds=target,
                    due_at=at(first + due) if due is not None else None,
                    sla_kind=SlaKind.first_response if kind == "case.sla_breached" else None,
                )
            )
    reply_ids: list[str] = []
    for index, (case_index, sent, answers, author) in enumerate(world.replies):
        case_id = f"{brand}-c{case_index}"
        first = world.cases[case_index][0] if case_index < len(world.cases) else 0
        reply_id = f"{brand}-r{index}"
        reply_ids.append(reply_id)
        out.append(
            events.reply(
                f"{brand}-r{index}",
                brand=brand,
                case_id=case_id,
                reply_id=reply_id,
                author=author,
                sent_at=at(first + sent, 7),
                answers_inbound_at=at(first + answers) if answers is not None else None,
                # Business hours as routing measured them; one reply in three without them.
                first_inbound_business_seconds=float(sent * 20) if index % 3 else None,
                answers_inbound_business_seconds=(
                    float(abs(sent - answers) * 10) if answers is not None and index % 3 else None
                ),
            )
        )
    for index, (reply_index, passed, time) in enumerate(world.checks):
        checked_reply: str | None = (
            reply_ids[reply_index]
            if reply_index is not None and reply_index < len(reply_ids)
            else None
        )
        out.append(
            events.check(
                f"{brand}-k{index}",
                brand=brand,
                check_id=f"{brand}-k{index}",
                reply_id=checked_reply,
                passed=passed,
                at=at(time),
            )
        )
    for index, (likes, views, time) in enumerate(world.engagement):
        out.append(
            events.engagement(
                f"{brand}-e{index}", brand=brand, at=at(time), likes=likes, views=views
            )
        )
    return out


@pytest.fixture(scope="module")
async def sessions(postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    database = await migrated_database(postgres_url, "kpi")
    engine = create_engine(database, schema="kpi")
    yield session_factory(engine)
    await engine.dispose()


_brands = iter(range(10**9))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds, data=st.data())
async def test_rollups_equal_the_rebuild_in_any_order_with_duplicates(
    sessions: async_sessionmaker[AsyncSession], world: World, data: st.DataObject
) -> None:
    number = next(_brands)
    shuffled_brand, ordered_brand = f"p{number}a", f"p{number}b"
    shuffled = stream(world, shuffled_brand)
    duplicates = data.draw(st.lists(st.sampled_from(shuffled), max_size=6)) if shuffled else []
    delivered = data.draw(st.permutations([*shuffled, *duplicates]))
    cuts = sorted(data.draw(st.sets(st.integers(0, len(delivered)), max_size=4)))
    polls = [
        delivered[low:high]
        for low, high in zip([0, *cuts], [*cuts, len(delivered)], strict=False)
        if low < high
    ]
    # Half the time through the consumer's preparation of each poll, half without: both fold
    # to the rollups of the ordered stream folded without it.
    await fold(sessions, polls, prepared=data.draw(st.booleans(), label="prepared"))
    await fold(sessions, [stream(world, ordered_brand)])
    folded = await read_rollups(sessions, shuffled_brand)
    assert folded == await read_rollups(sessions, ordered_brand)
    async with sessions() as session, session.begin():
        await rebuild(session, shuffled_brand)
    assert await read_rollups(sessions, shuffled_brand) == folded


async def test_a_stream_with_every_kind_of_fact_is_not_empty(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The property above is not vacuous: a stream of each kind folds into non-zero rollups."""
    world = World(
        interactions=[([(False, 5, 5, "negative", -0.8, False)], None)],
        cases=[(10, [("case.opened", 10, "customer_service", "m-1", 100, 60, None)])],
        replies=[(0, 2, None, "m-1"), (0, 5, 4, "m-1")],
        checks=[(0, False, 11), (0, True, 12)],
        engagement=[(3, 100, 20)],
    )
    await fold(sessions, [stream(world, "nonempty")])
    measures, sketches = await read_rollups(sessions, "nonempty")
    day = {key: values for key, values in measures.items() if key[0] == "d"}
    totals = {name: sum(values[i] for values in day.values()) for i, name in enumerate(MEASURES)}
    assert totals["interactions"] == 1
    assert totals["sentiment_negative"] == 1
    assert totals["cases_opened"] == 1
    assert totals["cases_responded"] == 1
    assert totals["first_response_ms"] == (2 * 60 + 7) * 1000  # 2 min 7 s after first inbound
    assert totals["sla_ended"] == 1
    assert totals["sla_met"] == 0
    assert totals["replies_sent"] == 2
    assert totals["next_response_count"] == 1
    assert totals["cases_resolved"] == 1
    assert totals["resolution_ms"] == (100 * 60 - 30) * 1000
    assert totals["replies_checked"] == 1
    assert totals["replies_first_pass"] == 0
    assert totals["likes"] == 3
    assert totals["views"] == 100
    assert sketches
    await asyncio.sleep(0)


async def test_a_late_older_version_does_not_overwrite_a_newer_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """An edit (newer) folded before the original (older) keeps the edit: the same rollups as
    in the natural order."""
    rollups = []
    for brand, order in (("late-a", (0, 1)), ("late-b", (1, 0))):
        versions = [
            events.interaction(
                f"{brand}-{number}",
                brand=brand,
                interaction_id=f"{brand}-i",
                created_at=at(5),
                time=at(5 + number),
                label=label,
                event_type=kind,
            )
            for number, (label, kind) in enumerate(
                (("negative", "interaction.received"), ("positive", "interaction.updated"))
            )
        ]
        await fold(sessions, [[versions[index]] for index in order])
        rollups.append(await read_rollups(sessions, brand))
    assert rollups[0] == rollups[1]
    day = [values for key, values in rollups[0][0].items() if key[0] == "d"]
    assert day[0][MEASURES.index("sentiment_positive")] == 1


async def test_a_time_written_with_an_offset_lands_in_its_utc_buckets(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """23:30 at UTC-2 is 01:30 UTC the next day: the fold puts it in that UTC minute, hour and
    day, as the rebuild (which reads the stored instant back in UTC) does."""
    brand = "offset"
    local = datetime(2026, 11, 30, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    envelope = events.interaction(
        f"{brand}-1", brand=brand, interaction_id=f"{brand}-i", created_at=local, time=local
    )
    await fold(sessions, [[envelope]])
    folded = await read_rollups(sessions, brand)
    buckets = {key[0]: key[1] for key in folded[0]}
    assert buckets == {
        "m": datetime(2026, 12, 1, 1, 30, tzinfo=UTC),
        "h": datetime(2026, 12, 1, 1, tzinfo=UTC),
        "d": datetime(2026, 12, 1, tzinfo=UTC),
    }
    async with sessions() as session, session.begin():
        await rebuild(session, brand)
    assert await read_rollups(sessions, brand) == folded


async def test_ideas_collected_equal_the_rebuild_after_edits_and_deletions(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Ideas are folded by the audience consumer (services/kpi/ideas/service.py): collected,
    edited (moved in time, or into something that is no idea) and deleted, their count in the
    rollups equals the rebuild's from the ideas kept."""
    brand = f"ideas{next(_brands)}"
    idea = IntentPrediction(Intent.feedback_idea, 0.9, "es", ())
    complaint = IntentPrediction(Intent.complaint, 0.9, "es", ())

    def post(number: int, minute: int, channel: str = "x") -> Interaction:
        envelope = events.interaction(
            None,
            brand=brand,
            interaction_id=f"{brand}-i{number}",
            channel=channel,
            created_at=at(minute),
            time=at(minute),
            text="Estaría genial pagar con Bizum",
        )
        assert isinstance(envelope.data, Interaction)
        return envelope.data

    steps: list[tuple[Interaction, IntentPrediction, bool]] = [
        (post(1, 10), idea, False),
        (post(2, 70, "instagram"), idea, False),
        (post(3, 1500), idea, False),
        (post(1, 10), idea, True),  # the same idea again: counts once
        (post(2, 130, "instagram"), idea, True),  # edited: its time moves
        (post(3, 1500), complaint, True),  # edited into a complaint: no idea any more
        (post(4, 20), idea, False),
    ]
    for interaction, prediction, edited in steps:
        async with sessions() as session, session.begin():
            await ideas.collect(
                session, interaction, prediction, profile_id=None, min_confidence=0.5, edited=edited
            )
    async with sessions() as session, session.begin():
        await ideas.forget(session, f"{brand}-i4")
    folded = await read_rollups(sessions, brand)
    index = MEASURES.index("ideas_collected")
    days = {key: values[index] for key, values in folded[0].items() if key[0] == "d"}
    assert sorted(days.values()) == [1, 1]  # post 1 on x and post 2 on instagram
    async with sessions() as session, session.begin():
        await rebuild(session, brand)
    assert await read_rollups(sessions, brand) == folded
