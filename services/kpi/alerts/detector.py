"""Crisis and SLA-burst detection on event time (pure: no database, no Kafka, no clock).

Time is the events' own: minutes since the epoch of `created_at` (interactions) or
`occurred_at` (case events). The detector's clock is the latest minute it has seen (its
watermark), so a replay of the same stream raises and resolves the same alerts at the same
minutes, and tests drive it with simulated time.

**Spike** (negative mentions, crisis intents, SLA breaches): per-minute buckets of hits (and of
all posts, for shares) over the longest window; an EWMA of hits and totals per minute over the
minutes that closed (alpha = 2 / (span + 1), span 6 h by default), frozen while an alert is
active so a crisis does not become the new normal. A window fires when, at the watermark,

- hits in the window ≥ the window's minimum volume (two angry posts at night page no one),
- hits ≥ `ratio` × the baseline's expectation for the window (EWMA hits per minute × minutes),
- and, for shares, hits ÷ posts ≥ max(`min_share`, baseline share + `share_margin`), so a busy
  Monday morning (more posts, the usual share of negative ones) stays quiet.

An active alert holds while any window is above half its volume and ratio bars (and 3/4 of its
share bar); it resolves once none has held for `resolve_after_minutes`.

**Author reach**: a negative post by an author with at least `min_followers` raises at once
(one alert per author); it resolves after `quiet_minutes` without another negative post of
theirs.

Alert ids are UUIDv5 of brand, scope, metric and the minute raised: the same on every replay.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

ALERT_NAMESPACE = uuid.UUID("6f1f8c3e-6b0e-4a57-9d55-3c0a1c2b7e41")
MAX_EXAMPLES_KEPT = 200
EXAMPLES_PER_ALERT = 5
KEYWORDS_PER_ALERT = 5
MAX_AUTHORS_TRACKED = 1000
# A gap longer than this (a brand silent for days) folds in closed form instead of a loop.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def minute_of(moment: datetime) -> int:
    """Minutes since the epoch (UTC) of an aware datetime."""
    return int((moment - EPOCH).total_seconds() // 60)


def moment_of(minute: int) -> datetime:
    return EPOCH + timedelta(minutes=minute)


# ------------------------------------------------------------------------------ configuration


@dataclass(frozen=True, slots=True)
class Window:
    minutes: int
    min_hits: int


@dataclass(frozen=True, slots=True)
class SpikeRule:
    metric: str
    windows: tuple[Window, ...]
    ratio: float = 3.0
    min_share: float | None = None  # None: volume only (no share condition)
    share_margin: float = 0.0
    baseline_span_minutes: int = 360
    resolve_after_minutes: int = 15

    @property
    def alpha(self) -> float:
        return 2.0 / (self.baseline_span_minutes + 1)

    @property
    def longest(self) -> int:
        return max(window.minutes for window in self.windows)


@dataclass(frozen=True, slots=True)
class CrisisConfig:
    negative: SpikeRule = SpikeRule(
        metric="negative_share",
        windows=(Window(10, 20), Window(60, 60)),
        ratio=3.0,
        min_share=0.4,
        share_margin=0.2,
    )
    crisis_intent: SpikeRule = SpikeRule(
        metric="crisis_intents", windows=(Window(30, 5),), ratio=3.0, resolve_after_minutes=30
    )
    min_followers: int = 50_000
    author_quiet_minutes: int = 360


@dataclass(frozen=True, slots=True)
class SlaBurstConfig:
    breaches: SpikeRule = SpikeRule(
        metric="sla_breaches", windows=(Window(30, 5),), ratio=3.0, resolve_after_minutes=30
    )


# --------------------------------------------------------------------------- inputs, outputs


@dataclass(frozen=True, slots=True)
class Observation:
    """One inbound post as the crisis detector needs it."""

    minute: int
    interaction_id: str
    negative: bool
    crisis_intent: bool
    channel: str = ""
    thread_key: str = ""
    lang: str | None = None
    author: str | None = None  # the author's key within the brand (never shown in an alert)
    followers: int = 0
    keyphrases: tuple[tuple[str, str], ...] = ()  # (key, written form)


@dataclass(frozen=True, slots=True)
class Figures:
    window_minutes: int
    hits: int
    total: int
    share: float | None
    expected: float
    threshold: float
    share_threshold: float | None = None


@dataclass(frozen=True, slots=True)
class Raised:
    alert_id: str
    metric: str
    window_start: int
    window_end: int
    figures: Figures
    interaction_ids: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    thread_keys: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    followers: int | None = None
    verified_reach: bool = False


@dataclass(frozen=True, slots=True)
class Resolved:
    alert_id: str
    metric: str
    minute: int
    reason: str


Decision = Raised | Resolved


# ---------------------------------------------------------------------------------- state


class ActiveAlert(BaseModel):
    alert_id: str
    raised_minute: int
    held_minute: int  # last minute the alert's condition held


class Example(BaseModel):
    minute: int
    interaction_id: str
    channel: str = ""
    thread_key: str = ""
    lang: str | None = None
    keyphrases: list[tuple[str, str]] = Field(default_factory=list)


class SpikeState(BaseModel):
    """Buckets of the longest window, the baseline and the active alert of one signal."""

    buckets: dict[int, tuple[int, int]] = Field(default_factory=dict)  # minute → (hits, total)
    watermark: int | None = None
    folded_to: int | None = None  # minutes before this are in the baseline
    ewma_hits: float = 0.0
    ewma_total: float = 0.0
    active: ActiveAlert | None = None
    examples: list[Example] = Field(default_factory=list)


class AuthorAlert(BaseModel):
    alert_id: str
    last_negative_minute: int


class CrisisState(BaseModel):
    negative: SpikeState = Field(default_factory=SpikeState)
    crisis_intent: SpikeState = Field(default_factory=SpikeState)
    authors: dict[str, AuthorAlert] = Field(default_factory=dict)


class SlaBurstState(BaseModel):
    breaches: SpikeState = Field(default_factory=SpikeState)


def alert_id(brand_id: str, scope: str, metric: str, minute: int) -> str:
    return str(uuid.uuid5(ALERT_NAMESPACE, f"{brand_id}|{scope}|{metric}|{minute}"))


# ---------------------------------------------------------------------------------- spikes


@dataclass
class _WindowCheck:
    fires: bool
    holds: bool
    figures: Figures


@dataclass
class Spike:
    """One signal's detector over its state (the state object is changed in place)."""

    rule: SpikeRule
    state: SpikeState
    brand_id: str
    scope: str
    _decisions: list[Decision] = field(default_factory=list)

    def observe(self, minute: int, *, hit: bool, example: Example | None = None) -> list[Decision]:
        state = self.state
        if state.watermark is not None and minute <= state.watermark - self.rule.longest:
            return []  # later than every window: too late to count
        if state.watermark is None or minute > state.watermark:
            self._advance(minute)
        hits, total = state.buckets.get(minute, (0, 0))
        state.buckets[minute] = (hits + int(hit), total + 1)
        if hit and example is not None:
            state.examples.append(example)
            if len(state.examples) > MAX_EXAMPLES_KEPT:
                del state.examples[: len(state.examples) - MAX_EXAMPLES_KEPT]
        return self._evaluate()

    def tick(self, minute: int) -> list[Decision]:
        """Time passed to `minute` without an event: an active alert whose condition cleared
        resolves (nothing else changes when none is active)."""
        state = self.state
        if state.active is None or state.watermark is None or minute <= state.watermark:
            return []
        self._advance(minute)
        return self._evaluate()

    def _advance(self, minute: int) -> None:
        state = self.state
        self._fold_until(minute)
        state.watermark = minute
        oldest = minute - self.rule.longest
        for bucket in [bucket for bucket in state.buckets if bucket <= oldest]:
            del state.buckets[bucket]
        state.examples = [example for example in state.examples if example.minute > oldest]

    def _fold_until(self, end: int) -> None:
        """Fold the closed minutes [folded_to, end) into the baseline (frozen while active)."""
        state = self.state
        start = state.folded_to
        state.folded_to = end
        if start is None or state.active is not None or end <= start:
            return
        keep = 1.0 - self.rule.alpha
        cursor = start
        for bucket in sorted(bucket for bucket in state.buckets if start <= bucket < end):
            decay = keep ** (bucket - cursor)
            state.ewma_hits *= decay
            state.ewma_total *= decay
            hits, total = state.buckets[bucket]
            state.ewma_hits = keep * state.ewma_hits + self.rule.alpha * hits
            state.ewma_total = keep * state.ewma_total + self.rule.alpha * total
            cursor = bucket + 1
        decay = keep ** (end - cursor)
        state.ewma_hits *= decay
        state.ewma_total *= decay

    def check(self, window: Window) -> _WindowCheck:
        state, rule = self.state, self.rule
        assert state.watermark is not None
        start = state.watermark - window.minutes
        hits = total = 0
        for bucket, (bucket_hits, bucket_total) in state.buckets.items():
            if bucket > start:
                hits += bucket_hits
                total += bucket_total
        expected = state.ewma_hits * window.minutes
        threshold = max(float(window.min_hits), rule.ratio * expected)
        share = hits / total if total else None
        share_bar: float | None = None
        share_ok = share_held = True
        if rule.min_share is not None:
            baseline_share = state.ewma_hits / state.ewma_total if state.ewma_total > 1e-9 else 0
            share_bar = max(rule.min_share, baseline_share + rule.share_margin)
            share_ok = share is not None and share >= share_bar
            share_held = share is not None and share >= share_bar * 0.75
        fires = hits >= threshold and share_ok
        holds = hits >= threshold * 0.5 and share_held
        figures = Figures(
            window_minutes=window.minutes,
            hits=hits,
            total=total,
            share=round(share, 4) if share is not None else None,
            expected=round(expected, 3),
            threshold=round(threshold, 3),
            share_threshold=round(share_bar, 4) if share_bar is not None else None,
        )
        return _WindowCheck(fires, holds, figures)

    def _evaluate(self) -> list[Decision]:
        state, rule = self.state, self.rule
        assert state.watermark is not None
        now = state.watermark
        checks = [self.check(window) for window in rule.windows]
        if state.active is None:
            firing = next((check for check in checks if check.fires), None)
            if firing is None:
                return []
            identifier = alert_id(self.brand_id, self.scope, rule.metric, now)
            state.active = ActiveAlert(alert_id=identifier, raised_minute=now, held_minute=now)
            start = now - firing.figures.window_minutes
            return [self._raised(identifier, start, now, firing.figures)]
        if any(check.holds for check in checks):
            state.active.held_minute = now
            return []
        if now - state.active.held_minute >= rule.resolve_after_minutes:
            identifier = state.active.alert_id
            state.active = None
            state.folded_to = now  # the baseline resumes from here, without the crisis
            return [Resolved(identifier, rule.metric, now, "back_to_baseline")]
        return []

    def _raised(self, identifier: str, start: int, end: int, figures: Figures) -> Raised:
        examples = [example for example in self.state.examples if example.minute > start]
        newest = sorted(examples, key=lambda example: (-example.minute, example.interaction_id))
        phrases: Counter[str] = Counter()
        written: dict[str, Counter[str]] = {}
        for example in examples:
            for key, surface in example.keyphrases:
                phrases[key] += 1
                written.setdefault(key, Counter())[surface] += 1
        top = sorted(
            (item for item in phrases.items() if item[1] >= 2),
            key=lambda item: (-item[1] * (1.5 if " " in item[0] else 1.0), item[0]),
        )[:KEYWORDS_PER_ALERT]
        keywords = tuple(
            min(written[key].items(), key=lambda item: (-item[1], item[0]))[0] for key, _ in top
        )
        return Raised(
            alert_id=identifier,
            metric=self.rule.metric,
            window_start=start,
            window_end=end,
            figures=figures,
            interaction_ids=tuple(
                example.interaction_id for example in newest[:EXAMPLES_PER_ALERT]
            ),
            keywords=keywords,
            channels=_ranked(example.channel for example in examples if example.channel),
            thread_keys=tuple(
                dict.fromkeys(example.thread_key for example in newest if example.thread_key)
            )[:20],
            langs=_ranked(example.lang for example in examples if example.lang is not None),
        )


def _ranked(values: Iterable[str]) -> tuple[str, ...]:
    counts: Counter[str] = Counter(values)
    return tuple(value for value, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# ------------------------------------------------------------------------------ detectors


@dataclass
class CrisisDetector:
    """A brand's crisis signals; `state` is what the caller stores between events."""

    brand_id: str
    config: CrisisConfig = field(default_factory=CrisisConfig)
    state: CrisisState = field(default_factory=CrisisState)

    def observe(self, observation: Observation) -> list[Decision]:
        example = Example(
            minute=observation.minute,
            interaction_id=observation.interaction_id,
            channel=observation.channel,
            thread_key=observation.thread_key,
            lang=observation.lang,
            keyphrases=list(observation.keyphrases),
        )
        decisions: list[Decision] = []
        negative = Spike(self.config.negative, self.state.negative, self.brand_id, "crisis")
        decisions += negative.observe(observation.minute, hit=observation.negative, example=example)
        crisis = Spike(self.config.crisis_intent, self.state.crisis_intent, self.brand_id, "crisis")
        decisions += crisis.observe(
            observation.minute, hit=observation.crisis_intent, example=example
        )
        decisions += self._authors(observation)
        return decisions

    def tick(self, minute: int) -> list[Decision]:
        """Time passed to `minute` without a post: cleared alerts resolve."""
        decisions: list[Decision] = []
        for rule, state in (
            (self.config.negative, self.state.negative),
            (self.config.crisis_intent, self.state.crisis_intent),
        ):
            decisions += Spike(rule, state, self.brand_id, "crisis").tick(minute)
        authors = self.state.authors
        for author, alert in sorted(authors.items()):
            if minute - alert.last_negative_minute >= self.config.author_quiet_minutes:
                del authors[author]
                decisions.append(Resolved(alert.alert_id, "author_reach", minute, "author_quiet"))
        return decisions

    @property
    def active(self) -> bool:
        state = self.state
        return bool(state.negative.active or state.crisis_intent.active or state.authors)

    def _authors(self, observation: Observation) -> list[Decision]:
        decisions: list[Decision] = []
        now = max(observation.minute, self.state.negative.watermark or observation.minute)
        authors = self.state.authors
        for author, alert in sorted(authors.items()):
            if now - alert.last_negative_minute >= self.config.author_quiet_minutes:
                del authors[author]
                decisions.append(Resolved(alert.alert_id, "author_reach", now, "author_quiet"))
        if (
            observation.negative
            and observation.author
            and observation.followers >= self.config.min_followers
        ):
            known = authors.get(observation.author)
            if known is not None:
                known.last_negative_minute = max(known.last_negative_minute, observation.minute)
            elif len(authors) < MAX_AUTHORS_TRACKED:
                identifier = alert_id(
                    self.brand_id, f"author:{observation.author}", "author_reach", now
                )
                authors[observation.author] = AuthorAlert(
                    alert_id=identifier, last_negative_minute=observation.minute
                )
                figures = Figures(
                    window_minutes=1,
                    hits=1,
                    total=1,
                    share=1.0,
                    expected=0.0,
                    threshold=float(self.config.min_followers),
                )
                decisions.append(
                    Raised(
                        alert_id=identifier,
                        metric="author_reach",
                        window_start=observation.minute,
                        window_end=observation.minute + 1,
                        figures=figures,
                        interaction_ids=(observation.interaction_id,),
                        keywords=tuple(
                            surface for _, surface in observation.keyphrases[:KEYWORDS_PER_ALERT]
                        ),
                        channels=(observation.channel,) if observation.channel else (),
                        thread_keys=(observation.thread_key,) if observation.thread_key else (),
                        langs=(observation.lang,) if observation.lang else (),
                        followers=observation.followers,
                    )
                )
        return decisions


@dataclass
class SlaBurstDetector:
    """SLA breaches of one department of one brand."""

    brand_id: str
    department: str
    config: SlaBurstConfig = field(default_factory=SlaBurstConfig)
    state: SlaBurstState = field(default_factory=SlaBurstState)

    def observe(
        self, minute: int, *, case_id: str, thread_key: str = "", channel: str = ""
    ) -> list[Decision]:
        spike = Spike(
            self.config.breaches, self.state.breaches, self.brand_id, f"sla:{self.department}"
        )
        example = Example(
            minute=minute, interaction_id=case_id, thread_key=thread_key, channel=channel
        )
        return spike.observe(minute, hit=True, example=example)

    def tick(self, minute: int) -> list[Decision]:
        """Time passed to `minute` without a breach: a cleared burst resolves."""
        spike = Spike(
            self.config.breaches, self.state.breaches, self.brand_id, f"sla:{self.department}"
        )
        return spike.tick(minute)


AlertMetric = Literal["negative_share", "crisis_intents", "author_reach", "sla_breaches"]
