"""Influence, advocacy and detraction of a fan (pure).

- influence = log10(1 + followers) + 0.5 · log10(1 + likes + comments + shares on their posts)
  + 0.5 if verified: about 0 for an unknown account, 3.5 for 1,000 followers and a few dozen
  reactions, 6.5+ for 1,000,000 followers. Reach counts more than engagement, the log keeps one
  celebrity from flattening everyone else.
- advocacy = influence × positive share; detraction = influence × negative share (shares of
  the interactions with a sentiment label).
- an **advocate** (candidate ambassador) has at least `min_followers`, `repeat_min` positive
  interactions and a positive share ≥ `lean_min_share`; a **detractor** the same with negative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Thresholds:
    min_followers: int = 1000
    repeat_min: int = 3
    lean_min_share: float = 0.6


@dataclass(frozen=True, slots=True)
class Scores:
    influence: float
    advocacy: float
    detraction: float
    advocate: bool
    detractor: bool


def influence(followers: int, engagement: int, verified: bool) -> float:
    value = math.log10(1 + max(0, followers)) + 0.5 * math.log10(1 + max(0, engagement))
    return round(value + (0.5 if verified else 0.0), 4)


def score(
    *,
    followers: int,
    engagement: int,
    verified: bool,
    positive: int,
    neutral: int,
    negative: int,
    thresholds: Thresholds,
) -> Scores:
    reach = influence(followers, engagement, verified)
    labelled = positive + neutral + negative
    positive_share = positive / labelled if labelled else 0.0
    negative_share = negative / labelled if labelled else 0.0
    has_reach = followers >= thresholds.min_followers
    return Scores(
        influence=reach,
        advocacy=round(reach * positive_share, 4),
        detraction=round(reach * negative_share, 4),
        advocate=has_reach
        and positive >= thresholds.repeat_min
        and positive_share >= thresholds.lean_min_share,
        detractor=has_reach
        and negative >= thresholds.repeat_min
        and negative_share >= thresholds.lean_min_share,
    )
