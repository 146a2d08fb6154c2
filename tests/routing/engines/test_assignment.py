"""Choosing the member for a case: eligibility, least loaded, round-robin, explanations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.routing.assignment import (
    Availability,
    Candidate,
    Reason,
    by_department,
    choose,
    eligible,
)
from shared.business_hours import BusinessCalendar

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)  # a Tuesday
OFFICE = BusinessCalendar("UTC", {d: [("09:00", "17:00")] for d in range(5)})


def member(member_id: str, **overrides: object) -> Candidate:
    fields: dict[str, object] = {
        "member_id": member_id,
        "departments": frozenset({"customer_service"}),
        "languages": frozenset({"es", "en"}),
        "skills": frozenset({"billing"}),
        "account_ids": frozenset({"acc-1"}),
        "open_cases": 0,
        "capacity": 5,
    }
    fields.update(overrides)
    return Candidate(**fields)  # type: ignore[arg-type]


def pick(candidates: list[Candidate], **overrides: object) -> Candidate | None:
    args: dict[str, object] = {
        "department": "customer_service",
        "account_id": "acc-1",
        "lang": "es",
        "skills_required": (),
        "now": NOW,
    }
    args.update(overrides)
    return choose(candidates, **args)  # type: ignore[arg-type]


def test_each_requirement_excludes() -> None:
    base = member("ok")
    others = [
        member("dept", departments=frozenset({"sales"})),
        member("grant", account_ids=frozenset({"acc-2"})),
        member("lang", languages=frozenset({"en"})),
        member("skill", skills=frozenset()),
        member("full", open_cases=5),
        member("away", availability=Availability.away),
        member("offline", availability=Availability.offline),
        member("night", calendar=BusinessCalendar("UTC", {0: [("20:00", "23:00")]})),
        member("zero", capacity=0),
    ]
    for other in others:
        assert pick([other], skills_required=["billing"]) is None, other.member_id
    assert pick([*others, base], skills_required=["billing"]) == base
    report = {
        e.member_id: e
        for e in eligible(others, "customer_service", "acc-1", "es", ["billing"], NOW)
    }
    assert report["dept"].reasons == (Reason.not_in_department,)
    assert report["grant"].reasons == (Reason.no_account_grant,)
    assert report["lang"].reasons == (Reason.language_not_spoken,)
    assert report["skill"].reasons == (Reason.missing_skills,)
    assert report["skill"].missing_skills == ("billing",)
    assert report["full"].reasons == (Reason.at_capacity,)
    assert report["away"].reasons == (Reason.not_available,)
    assert report["night"].reasons == (Reason.outside_working_hours,)
    assert report["zero"].reasons == (Reason.at_capacity,)


def test_no_account_and_no_language_need_no_grant_or_language() -> None:
    ungranted = member("u", account_ids=frozenset(), languages=frozenset())
    assert pick([ungranted], account_id=None, lang=None) == ungranted
    assert pick([ungranted]) is None


def test_inside_working_hours_is_eligible() -> None:
    worker = member("w", calendar=OFFICE)
    assert pick([worker]) == worker
    assert pick([worker], now=NOW.replace(hour=18)) is None


def test_least_loaded_by_ratio_wins() -> None:
    big = member("big", open_cases=4, capacity=10)  # 0.4
    small = member("small", open_cases=1, capacity=2)  # 0.5
    assert pick([small, big]) == big


def test_round_robin_among_equals() -> None:
    a = member("a", last_assigned_at=NOW - timedelta(minutes=1))
    b = member("b", last_assigned_at=NOW - timedelta(minutes=5))
    c = member("c", last_assigned_at=NOW - timedelta(minutes=3))
    assert pick([a, b, c]) == b
    never = member("z")
    assert pick([a, b, c, never]) == never  # never assigned goes first
    # Equal in everything: the smallest id, whatever the input order.
    assert pick([member("y"), member("x")]) == member("x")


def test_round_robin_cycles_through_a_team() -> None:
    team = [member(f"m{i}", capacity=100) for i in range(4)]
    order = []
    clock = NOW
    for _ in range(8):
        chosen = pick(team)
        assert chosen is not None
        order.append(chosen.member_id)
        clock += timedelta(seconds=1)
        team = [
            replace(m, open_cases=m.open_cases + 1, last_assigned_at=clock) if m == chosen else m
            for m in team
        ]
    assert order == ["m0", "m1", "m2", "m3"] * 2


def test_eligible_lists_the_choice_first_and_every_reason() -> None:
    members = [
        member("b", open_cases=2),
        member("a", open_cases=1),
        member("x", languages=frozenset(), open_cases=5),
    ]
    full = eligible(members, "customer_service", "acc-1", "es", [], NOW)
    assert [(e.member_id, e.eligible) for e in full] == [("a", True), ("b", True), ("x", False)]
    assert full[2].reasons == (Reason.language_not_spoken, Reason.at_capacity)
    assert "no habla el idioma" in full[2].describe("es")
    assert "does not speak" in full[2].describe("en")
    chosen = pick(members)
    assert chosen is not None
    assert chosen.member_id == full[0].member_id
    skills = eligible(members, "customer_service", "acc-1", "es", ["billing", "vip"], NOW)
    assert all(Reason.missing_skills in e.reasons for e in skills)
    assert "vip" in skills[0].describe()


def test_by_department_indexes_members() -> None:
    both = member("both", departments=frozenset({"pr", "sales"}))
    index = by_department([both, member("cs")])
    assert index["pr"] == [both]
    assert index["sales"] == [both]
    assert [m.member_id for m in index["customer_service"]] == ["cs"]


candidates = st.builds(
    Candidate,
    member_id=st.text("abcdef", min_size=1, max_size=3),
    departments=st.frozensets(st.sampled_from(["cs", "pr"]), min_size=1),
    languages=st.frozensets(st.sampled_from(["es", "en"])),
    skills=st.frozensets(st.sampled_from(["s1", "s2"])),
    account_ids=st.frozensets(st.sampled_from(["a1", "a2"])),
    open_cases=st.integers(0, 6),
    capacity=st.integers(0, 6),
    availability=st.sampled_from(list(Availability)),
    last_assigned_at=st.none() | st.datetimes(timezones=st.just(UTC)),
)


@settings(max_examples=100, deadline=None)
@given(
    # Member ids are unique in a team (the load comparison below matches members by id).
    st.lists(candidates, max_size=12, unique_by=lambda member: member.member_id),
    st.frozensets(st.sampled_from(["s1", "s2"])),
)
def test_choice_is_the_best_eligible(members: list[Candidate], skills: frozenset[str]) -> None:
    chosen = choose(members, "cs", "a1", "es", skills, NOW)
    report = eligible(members, "cs", "a1", "es", skills, NOW)
    able = [e for e in report if e.eligible]
    if chosen is None:
        assert not able
        return
    assert able
    assert able[0].member_id == chosen.member_id
    assert chosen.open_cases < chosen.capacity
    assert "cs" in chosen.departments
    assert "a1" in chosen.account_ids
    assert "es" in chosen.languages
    assert skills <= chosen.skills
    assert chosen.availability is Availability.available
    assert all(
        chosen.load <= m.load
        for m in members
        if any(e.member_id == m.member_id and e.eligible for e in able)
    )
