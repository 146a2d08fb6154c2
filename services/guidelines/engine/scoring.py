"""Acrolinx-style scores: every goal starts at 100 and loses points per violation.

A violation costs LEVEL_PENALTY[level] points; one rule costs at most MAX_COUNTED_PER_RULE
violations' worth, so a single repeated slip cannot sink a reply. Scores are clamped to 0-100.
Bands: >= GOOD_THRESHOLD "good", >= REVIEW_THRESHOLD "review", below that "poor". A check
passes when the reply is publishable under the brand's ``PublishPolicy``: no violation at a
blocking level (errors by default) and a score of at least its minimum (60 by default).
"""

from __future__ import annotations

from typing import Literal

from .models import GOALS, Blocker, PublishPolicy, Violation

LEVEL_PENALTY = {"error": 25.0, "warning": 10.0, "suggestion": 3.0}
MAX_COUNTED_PER_RULE = 2
GOOD_THRESHOLD = 80.0
REVIEW_THRESHOLD = 60.0


def score_violations(violations: list[Violation]) -> tuple[float, dict[str, float]]:
    """Return (overall score, score per goal)."""
    per_goal: dict[str, float] = dict.fromkeys(GOALS, 0.0)
    counted: dict[str, int] = {}
    for violation in violations:
        seen = counted.get(violation.rule_id, 0)
        if seen >= MAX_COUNTED_PER_RULE:
            continue
        counted[violation.rule_id] = seen + 1
        per_goal[violation.goal] += LEVEL_PENALTY[violation.level]
    total = sum(per_goal.values())
    goal_scores = {goal: max(0.0, 100.0 - penalty) for goal, penalty in per_goal.items()}
    return max(0.0, 100.0 - total), goal_scores


def band(score: float) -> Literal["good", "review", "poor"]:
    """Name the band a score falls in."""
    if score >= GOOD_THRESHOLD:
        return "good"
    if score >= REVIEW_THRESHOLD:
        return "review"
    return "poor"


# Why-not messages, in the reply's language (English for languages without a translation).
_BLOCKER_MESSAGES = {
    "score_below_minimum": {
        "es": "La puntuación {score:g} no llega al mínimo de la marca ({minimum:g}).",
        "en": "The score {score:g} is below the brand's minimum of {minimum:g}.",
    },
    "blocking_violation": {
        "es": "Incumple {count} regla(s) de nivel {levels}, que la marca no permite publicar.",
        "en": "Breaks {count} rule(s) at level {levels}, which the brand does not publish.",
    },
}


# Level names as a person reads them in each language.
_LEVEL_NAMES = {
    "es": {"error": "error", "warning": "aviso", "suggestion": "sugerencia"},
    "en": {"error": "error", "warning": "warning", "suggestion": "suggestion"},
}


def publish_blockers(
    policy: PublishPolicy, violations: list[Violation], score: float, lang: str
) -> list[Blocker]:
    """What stops a reply from being published under `policy` (empty: publishable)."""
    blockers: list[Blocker] = []
    blocking = [v for v in violations if v.level in policy.blocking_levels]
    if blocking:
        levels = sorted({v.level for v in blocking}, key=("error", "warning", "suggestion").index)
        message = _BLOCKER_MESSAGES["blocking_violation"]
        names = _LEVEL_NAMES.get(lang, _LEVEL_NAMES["en"])
        blockers.append(
            Blocker(
                code="blocking_violation",
                message=message.get(lang, message["en"]).format(
                    count=len({v.rule_id for v in blocking}),
                    levels="/".join(names[level] for level in levels),
                ),
                rule_ids=sorted({v.rule_id for v in blocking}),
            )
        )
    if score < policy.min_score:
        message = _BLOCKER_MESSAGES["score_below_minimum"]
        blockers.append(
            Blocker(
                code="score_below_minimum",
                message=message.get(lang, message["en"]).format(
                    score=score, minimum=policy.min_score
                ),
                rule_ids=sorted({v.rule_id for v in violations}),
            )
        )
    return blockers
