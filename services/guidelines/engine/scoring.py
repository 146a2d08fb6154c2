"""Acrolinx-style scores: every goal starts at 100 and loses points per violation.

A violation costs LEVEL_PENALTY[level] points; one rule costs at most MAX_COUNTED_PER_RULE
violations' worth, so a single repeated slip cannot sink a reply. Scores are clamped to 0-100.
Bands: >= GOOD_THRESHOLD "good", >= REVIEW_THRESHOLD "review", below that "poor". A check
passes when no error-level violation remains, whatever the score.
"""

from __future__ import annotations

from typing import Literal

from .models import GOALS, Violation

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
