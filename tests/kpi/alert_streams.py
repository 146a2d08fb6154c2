"""Generated interaction streams for the alert tests: a brand's normal day, a Monday-morning
peak, a crisis; deterministic for a seed, in simulated time."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.kpi.alerts.detector import Observation, minute_of

# A Monday, 00:00 UTC.
MONDAY = datetime(2026, 11, 30, tzinfo=UTC)

NORMAL_ES = [
    "¿A qué hora abrís mañana?",
    "Me encanta el nuevo sabor, enhorabuena",
    "¿Hacéis envíos a Canarias?",
    "Mi pedido llegó tarde otra vez, qué pena",
]
NORMAL_EN = [
    "What time do you open tomorrow?",
    "Love the new flavour, well done",
    "Do you ship to Ireland?",
    "My order was late again, not great",
]
CRISIS_ES = [
    "Intoxicación alimentaria después de comer vuestra ensalada, mi hijo en urgencias",
    "Otra intoxicación alimentaria con la ensalada de pollo, vergüenza",
    "Retirad ya la ensalada de pollo, intoxicación alimentaria en Madrid",
]
CRISIS_EN = [
    "Food poisoning after your chicken salad, my son is in hospital",
    "Chicken salad food poisoning again, disgusting",
]


@dataclass(frozen=True)
class Post:
    at: datetime
    interaction_id: str
    negative: bool
    crisis: bool
    text: str
    lang: str
    author: str
    followers: int


def rate_for(moment: datetime, base: float) -> float:
    """Posts per minute: quiet nights, a daytime plateau, a Monday-morning peak of 4× at 9:00."""
    hour = moment.hour + moment.minute / 60
    daily = 0.15 + 0.85 * max(0.0, math.sin(math.pi * (hour - 6) / 16)) if 6 <= hour <= 22 else 0.15
    peak = 1.0
    if moment.weekday() == 0 and 7.5 <= hour <= 11:
        peak = 1.0 + 3.0 * math.exp(-(((hour - 9) / 0.8) ** 2))
    return base * daily * peak


def normal_stream(
    start: datetime,
    minutes: int,
    *,
    base_rate: float = 6.0,
    negative_share: float = 0.15,
    seed: int = 7,
) -> Iterator[Post]:
    rng = random.Random(seed)
    for offset in range(minutes):
        minute = start + timedelta(minutes=offset)
        expected = rate_for(minute, base_rate)
        count = _poisson(rng, expected)
        for index in range(count):
            at = minute + timedelta(seconds=rng.randrange(60))
            negative = rng.random() < negative_share
            lang = "es" if rng.random() < 0.6 else "en"
            texts = NORMAL_ES if lang == "es" else NORMAL_EN
            yield Post(
                at=at,
                interaction_id=f"n-{offset}-{index}-{seed}",
                negative=negative,
                crisis=False,
                text=texts[3] if negative else texts[rng.randrange(3)],
                lang=lang,
                author=f"author-{rng.randrange(5000)}",
                followers=rng.choice([12, 80, 240, 1200, 3000]),
            )


def crisis_stream(
    start: datetime, minutes: int, *, rate: float = 12.0, seed: int = 11
) -> Iterator[Post]:
    """Angry posts about one incident, some classified as crisis intent."""
    rng = random.Random(seed)
    for offset in range(minutes):
        minute = start + timedelta(minutes=offset)
        for index in range(_poisson(rng, rate * min(1.0, (offset + 1) / 3))):
            lang = "es" if rng.random() < 0.7 else "en"
            texts = CRISIS_ES if lang == "es" else CRISIS_EN
            yield Post(
                at=minute + timedelta(seconds=rng.randrange(60)),
                interaction_id=f"c-{offset}-{index}-{seed}",
                negative=True,
                crisis=rng.random() < 0.3,
                text=texts[rng.randrange(len(texts))],
                lang=lang,
                author=f"angry-{rng.randrange(100000)}",
                followers=rng.choice([40, 150, 900]),
            )


def merged(*streams: Iterator[Post]) -> list[Post]:
    return sorted(
        (post for stream in streams for post in stream), key=lambda p: (p.at, p.interaction_id)
    )


def _poisson(rng: random.Random, expected: float) -> int:
    # Knuth's method; rates here are small.
    limit, count, product = math.exp(-expected), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def observation(post: Post, keyphrases: tuple[tuple[str, str], ...] = ()) -> Observation:
    return Observation(
        minute=minute_of(post.at),
        interaction_id=post.interaction_id,
        negative=post.negative,
        crisis_intent=post.crisis,
        channel="x",
        thread_key=f"acme:x:{post.interaction_id}",
        lang=post.lang,
        author=post.author,
        followers=post.followers,
        keyphrases=keyphrases,
    )
