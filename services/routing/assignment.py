"""Who answers a case (pure): the eligible members of the department and the one to choose.

A member is eligible for a case when they are in its department, hold a grant on its social
account (no account on the case: no grant needed), speak its language (no language: any),
have every required skill, are under capacity, available, and inside their working hours
(no calendar: always). Among the eligible, the least loaded (open cases ÷ capacity) is chosen,
and among equally loaded members the one assigned least recently (never assigned first), then
the smallest member id: a round-robin that needs no state beyond `last_assigned_at`.

`eligible()` says, for every member, why they were or were not chosen (for debugging routing
and for `POST /v1/rules/test`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.business_hours import BusinessCalendar


class Availability(StrEnum):
    available = "available"
    away = "away"
    offline = "offline"


class Reason(StrEnum):
    """Why a member cannot take a case; each has an English and a Spanish text (REASON_TEXT)."""

    not_in_department = "not_in_department"
    no_account_grant = "no_account_grant"
    language_not_spoken = "language_not_spoken"
    missing_skills = "missing_skills"
    at_capacity = "at_capacity"
    not_available = "not_available"
    outside_working_hours = "outside_working_hours"


REASON_TEXT: dict[Reason, tuple[str, str]] = {
    Reason.not_in_department: ("not in the department", "no pertenece al departamento"),
    Reason.no_account_grant: (
        "no access grant on the account",
        "sin permiso de acceso a la cuenta",
    ),
    Reason.language_not_spoken: (
        "does not speak the language",
        "no habla el idioma",
    ),
    Reason.missing_skills: ("lacks required skills", "le faltan habilidades requeridas"),
    Reason.at_capacity: ("at capacity", "sin capacidad libre"),
    Reason.not_available: (
        "not available (away or offline)",
        "no disponible (ausente o desconectado)",
    ),
    Reason.outside_working_hours: ("outside working hours", "fuera de su horario laboral"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """A member as assignment sees them. `account_ids`: accounts the member holds a grant on."""

    member_id: str
    departments: frozenset[str]
    languages: frozenset[str]
    skills: frozenset[str] = frozenset()
    account_ids: frozenset[str] = frozenset()
    open_cases: int = 0
    capacity: int = 1
    availability: Availability = Availability.available
    calendar: BusinessCalendar | None = None
    last_assigned_at: datetime | None = None

    @property
    def load(self) -> float:
        """Open cases ÷ capacity (1.0 or more: full)."""
        return self.open_cases / self.capacity if self.capacity > 0 else float("inf")


@dataclass(frozen=True, slots=True)
class Eligibility:
    member_id: str
    eligible: bool
    reasons: tuple[Reason, ...]  # empty when eligible
    missing_skills: tuple[str, ...] = ()
    load: float = 0.0

    def describe(self, lang: str = "en") -> str:
        """One line for a person (English, or Spanish with lang='es')."""
        index = 1 if lang == "es" else 0
        if self.eligible:
            return (
                f"{self.member_id}: puede atenderlo (carga {self.load:.2f})"
                if index
                else f"{self.member_id}: eligible (load {self.load:.2f})"
            )
        parts = []
        for reason in self.reasons:
            text = REASON_TEXT[reason][index]
            if reason is Reason.missing_skills and self.missing_skills:
                text += f" ({', '.join(self.missing_skills)})"
            parts.append(text)
        return f"{self.member_id}: {'; '.join(parts)}"


def _reasons(
    candidate: Candidate,
    department: str,
    account_id: str | None,
    lang: str | None,
    skills_required: frozenset[str],
    now: datetime,
    *,
    first_only: bool,
) -> tuple[list[Reason], tuple[str, ...]]:
    """Reasons `candidate` cannot take the case; cheap checks first, the calendar last."""
    reasons: list[Reason] = []
    missing: tuple[str, ...] = ()
    if department not in candidate.departments:
        reasons.append(Reason.not_in_department)
        if first_only:
            return reasons, missing
    if account_id is not None and account_id not in candidate.account_ids:
        reasons.append(Reason.no_account_grant)
        if first_only:
            return reasons, missing
    if lang is not None and lang not in candidate.languages:
        reasons.append(Reason.language_not_spoken)
        if first_only:
            return reasons, missing
    if skills_required and not skills_required <= candidate.skills:
        missing = tuple(sorted(skills_required - candidate.skills))
        reasons.append(Reason.missing_skills)
        if first_only:
            return reasons, missing
    if candidate.open_cases >= candidate.capacity:
        reasons.append(Reason.at_capacity)
        if first_only:
            return reasons, missing
    if candidate.availability is not Availability.available:
        reasons.append(Reason.not_available)
        if first_only:
            return reasons, missing
    if candidate.calendar is not None and not candidate.calendar.is_open(now):
        reasons.append(Reason.outside_working_hours)
    return reasons, missing


def _order_key(candidate: Candidate) -> tuple[float, int, float, str]:
    last = candidate.last_assigned_at
    # Never assigned sorts before any time; then the oldest assignment first.
    return (
        candidate.load,
        0 if last is None else 1,
        last.timestamp() if last else 0.0,
        candidate.member_id,
    )


def choose(
    candidates: Iterable[Candidate],
    department: str,
    account_id: str | None,
    lang: str | None,
    skills_required: Iterable[str],
    now: datetime,
) -> Candidate | None:
    """The member to assign, or None when nobody fits (the case waits in the queue)."""
    required = frozenset(skills_required)
    best: Candidate | None = None
    best_key: tuple[float, int, float, str] | None = None
    for candidate in candidates:
        # Skip the (comparatively costly) calendar when this one would lose anyway.
        if best_key is not None and candidate.load > best_key[0]:
            continue
        reasons, _ = _reasons(
            candidate, department, account_id, lang, required, now, first_only=True
        )
        if reasons:
            continue
        key = _order_key(candidate)
        if best_key is None or key < best_key:
            best, best_key = candidate, key
    return best


def eligible(
    candidates: Iterable[Candidate],
    department: str,
    account_id: str | None,
    lang: str | None,
    skills_required: Iterable[str],
    now: datetime,
) -> list[Eligibility]:
    """Every member with every reason they cannot take the case; eligible ones first, in the
    order `choose` prefers them (its choice is the first), then the others by member id."""
    required = frozenset(skills_required)
    able: list[tuple[tuple[float, int, float, str], Eligibility]] = []
    unable: list[Eligibility] = []
    for candidate in candidates:
        reasons, missing = _reasons(
            candidate, department, account_id, lang, required, now, first_only=False
        )
        load = candidate.load
        if reasons:
            unable.append(Eligibility(candidate.member_id, False, tuple(reasons), missing, load))
        else:
            able.append(
                (_order_key(candidate), Eligibility(candidate.member_id, True, (), (), load))
            )
    able.sort(key=lambda pair: pair[0])
    unable.sort(key=lambda item: item.member_id)
    return [item for _key, item in able] + unable


def by_department(candidates: Sequence[Candidate]) -> dict[str, list[Candidate]]:
    """Members indexed by department, so a caller with many departments scans only one."""
    index: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        for department in candidate.departments:
            index.setdefault(department, []).append(candidate)
    return index
