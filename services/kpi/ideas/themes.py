"""Group ideas into themes by their keyphrases (pure, deterministic).

Greedy covering, chosen over clustering because it names each theme by the phrase its ideas
share and needs no parameters beyond a minimum support: the phrase found in the most ideas
(two-word phrases weigh 1.5×, so "dark mode" beats "mode") becomes a theme with every idea that
contains it; those ideas leave the pool and the next phrase is chosen among the rest, until no
phrase is shared by `min_support` ideas. What remains is the "other" theme. Spanish and English
ideas about the same thing form a theme each (no translation), both reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

OTHER_KEY = ""
BIGRAM_WEIGHT = 1.5


@dataclass(frozen=True, slots=True)
class IdeaDoc:
    """One idea as themes see it: its id, time and keyphrases (key → written form)."""

    id: str
    created_at: datetime
    phrases: dict[str, str]


@dataclass
class Theme:
    key: str  # the shared phrase's stems; "" for the ideas no theme took
    label: str
    ideas: list[IdeaDoc] = field(default_factory=list)
    related: list[str] = field(default_factory=list)  # other phrases frequent in the theme


def _weight(key: str) -> float:
    return BIGRAM_WEIGHT if " " in key else 1.0


def group_themes(
    docs: Sequence[IdeaDoc], *, min_support: int = 2, max_themes: int = 50
) -> list[Theme]:
    """Themes by decreasing size (ties by label), then the "other" theme if any idea is left."""
    pool = sorted(docs, key=lambda doc: (doc.created_at, doc.id))
    themes: list[Theme] = []
    while pool and len(themes) < max_themes:
        support: Counter[str] = Counter()
        for doc in pool:
            support.update(doc.phrases.keys())
        if not support:
            break
        key, count = min(support.items(), key=lambda item: (-item[1] * _weight(item[0]), item[0]))
        if count < min_support:
            break
        members = [doc for doc in pool if key in doc.phrases]
        pool = [doc for doc in pool if key not in doc.phrases]
        themes.append(_theme(key, members))
    if pool:
        themes.append(Theme(key=OTHER_KEY, label="", ideas=pool))
    themes.sort(key=lambda theme: (theme.key == OTHER_KEY, -len(theme.ideas), theme.label))
    return themes


def _theme(key: str, members: list[IdeaDoc]) -> Theme:
    surfaces = Counter(doc.phrases[key] for doc in members)
    label = min(surfaces.items(), key=lambda item: (-item[1], item[0]))[0]
    related: Counter[str] = Counter()
    words = set(key.split())
    for doc in members:
        for other, surface in doc.phrases.items():
            if other != key and not words & set(other.split()):
                related[surface] += 1
    top = sorted(
        ((surface, count) for surface, count in related.items() if count >= 2),
        key=lambda item: (-item[1], item[0]),
    )
    return Theme(key=key, label=label, ideas=members, related=[surface for surface, _ in top[:5]])


def trend(first_half: int, second_half: int) -> str:
    """rising / falling / steady: the second half of the window against the first (a change of
    at least 25 % and of at least two ideas)."""
    if second_half - first_half >= 2 and second_half >= first_half * 1.25:
        return "rising"
    if first_half - second_half >= 2 and first_half >= second_half * 1.25:
        return "falling"
    return "steady"
