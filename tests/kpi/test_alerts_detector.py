"""The crisis and SLA-burst detectors on generated streams in simulated time (pure, fast)."""

from __future__ import annotations

import functools
from datetime import timedelta

from services.kpi.alerts.detector import (
    CrisisDetector,
    CrisisState,
    Raised,
    Resolved,
    SlaBurstDetector,
    minute_of,
    moment_of,
)
from services.kpi.ideas.keyphrases import keyphrases
from tests.kpi.alert_streams import (
    MONDAY,
    Post,
    crisis_stream,
    merged,
    normal_stream,
    observation,
)


@functools.lru_cache(maxsize=100)
def phrases_of(text: str, lang: str) -> tuple[tuple[str, str], ...]:
    return tuple((phrase.key, phrase.surface) for phrase in keyphrases(text, lang))


def run(posts: list[Post], brand: str = "acme") -> list[Raised | Resolved]:
    detector = CrisisDetector(brand)
    decisions: list[Raised | Resolved] = []
    for post in posts:
        decisions += detector.observe(observation(post, phrases_of(post.text, post.lang)))
    return decisions


def test_a_normal_week_stays_quiet_including_the_monday_morning_peak() -> None:
    # Sunday 00:00 to Tuesday 00:00: two nights, a Sunday and a Monday with its 4x peak.
    start = MONDAY - timedelta(days=1)
    posts = list(normal_stream(start, 48 * 60, seed=3))
    peak = [post for post in posts if post.at.weekday() == 0 and 8 <= post.at.hour < 10]
    night = [post for post in posts if post.at.weekday() == 6 and 2 <= post.at.hour < 4]
    assert len(peak) > 4 * len(night) * 3  # the peak is a real peak
    assert run(posts) == []


def test_several_seeds_and_a_more_negative_brand_stay_quiet() -> None:
    for seed in range(3):
        posts = list(normal_stream(MONDAY, 24 * 60, seed=seed, negative_share=0.3, base_rate=10))
        assert run(posts) == [], seed


def test_a_crisis_fires_within_five_minutes_and_resolves_after_it() -> None:
    crisis_start = MONDAY + timedelta(hours=15)
    posts = merged(
        normal_stream(MONDAY, 20 * 60, seed=5),
        crisis_stream(crisis_start, 40),
    )
    decisions = run(posts)
    raised = [d for d in decisions if isinstance(d, Raised) and d.metric == "negative_share"]
    assert len(raised) == 1
    alert = raised[0]
    assert moment_of(alert.window_end) - crisis_start <= timedelta(minutes=5)
    assert alert.figures.hits >= alert.figures.threshold
    assert alert.figures.share is not None
    assert alert.figures.share >= 0.4
    assert len(alert.interaction_ids) == 5
    assert all(identifier.startswith("c-") for identifier in alert.interaction_ids[:3])
    assert "ensalada" in " ".join(alert.keywords) or "salad" in " ".join(alert.keywords)
    assert alert.langs[0] == "es"
    resolved = [d for d in decisions if isinstance(d, Resolved) and d.alert_id == alert.alert_id]
    assert len(resolved) == 1
    assert moment_of(resolved[0].minute) > crisis_start + timedelta(minutes=40)
    # the crisis-intent signal fires on the same incident
    assert any(isinstance(d, Raised) and d.metric == "crisis_intents" for d in decisions)


def test_detection_is_deterministic_and_survives_a_state_round_trip() -> None:
    posts = merged(
        normal_stream(MONDAY, 16 * 60, seed=8), crisis_stream(MONDAY + timedelta(hours=14), 30)
    )
    straight = run(posts)
    detector = CrisisDetector("acme")
    replayed: list[Raised | Resolved] = []
    for index, post in enumerate(posts):
        if index % 97 == 0:  # stored and loaded as the service does between events
            state = CrisisState.model_validate_json(detector.state.model_dump_json())
            detector = CrisisDetector("acme", state=state)
        replayed += detector.observe(observation(post, phrases_of(post.text, post.lang)))
    assert replayed == straight
    assert straight


def test_two_angry_posts_at_night_page_no_one() -> None:
    night = MONDAY + timedelta(hours=3)
    posts = [
        Post(night + timedelta(minutes=i), f"angry-{i}", True, True, "Sois lo peor", "es", "a", 10)
        for i in range(2)
    ]
    assert run(list(normal_stream(MONDAY, 3 * 60, seed=2)) + posts) == []


def test_one_author_with_large_reach_posting_negatively() -> None:
    at = MONDAY + timedelta(hours=12)
    loud = Post(at, "loud-1", True, False, "Terrible service, never again", "en", "star", 250_000)
    again = Post(
        at + timedelta(minutes=30), "loud-2", True, False, "Still waiting", "en", "star", 250_000
    )
    posts = merged(normal_stream(MONDAY + timedelta(hours=11), 9 * 60, seed=4), iter([loud, again]))
    decisions = run(posts)
    raised = [d for d in decisions if isinstance(d, Raised)]
    assert [d.metric for d in raised] == ["author_reach"]  # once, not twice
    assert raised[0].interaction_ids == ("loud-1",)
    assert raised[0].followers == 250_000
    resolved = [d for d in decisions if isinstance(d, Resolved)]
    assert [d.alert_id for d in resolved] == [raised[0].alert_id]
    assert moment_of(resolved[0].minute) >= again.at + timedelta(hours=6) - timedelta(minutes=1)


def test_a_small_author_posting_negatively_is_no_alert() -> None:
    at = MONDAY + timedelta(hours=12)
    post = Post(at, "small-1", True, False, "Terrible service", "en", "someone", 3_000)
    assert run([post]) == []


def test_sla_breach_burst_per_department() -> None:
    detector = SlaBurstDetector("acme", "customer_service")
    decisions: list[Raised | Resolved] = []
    start = minute_of(MONDAY + timedelta(hours=9))
    # a breach every 40 minutes for a day: background, never a burst
    for index in range(36):
        decisions += detector.observe(start + 40 * index, case_id=f"slow-{index}")
    assert decisions == []
    burst_at = start + 40 * 36
    for index in range(8):
        decisions += detector.observe(burst_at + index, case_id=f"burst-{index}")
    raised = [d for d in decisions if isinstance(d, Raised)]
    assert len(raised) == 1
    assert raised[0].window_end - burst_at <= 5
    assert raised[0].figures.hits >= 5
    decisions = detector.observe(burst_at + 120, case_id="late-calm")
    assert [type(d) for d in decisions] == [Resolved]


def test_events_older_than_every_window_are_ignored_and_late_ones_count() -> None:
    detector = SlaBurstDetector("acme", "pr")
    now = minute_of(MONDAY + timedelta(hours=10))
    detector.observe(now, case_id="a")
    assert detector.observe(now - 500, case_id="ancient") == []
    assert sum(hits for hits, _ in detector.state.breaches.buckets.values()) == 1
    detector.observe(now - 5, case_id="late")
    assert sum(hits for hits, _ in detector.state.breaches.buckets.values()) == 2


def test_a_crisis_resolves_on_the_clock_when_no_post_comes_after_it() -> None:
    crisis_start = MONDAY + timedelta(hours=15)
    # The stream stops with the crisis: no later post would ever resolve it.
    posts = merged(normal_stream(MONDAY, 15 * 60, seed=5), crisis_stream(crisis_start, 20))
    detector = CrisisDetector("acme")
    decisions: list[Raised | Resolved] = []
    for post in posts:
        decisions += detector.observe(observation(post, phrases_of(post.text, post.lang)))
    raised = {d.alert_id for d in decisions if isinstance(d, Raised)}
    assert raised
    assert not any(isinstance(d, Resolved) for d in decisions)
    assert detector.active
    last = minute_of(crisis_start) + 20
    assert detector.tick(last) == []  # no time passed: nothing changes
    ticked: list[Raised | Resolved] = []
    for minute in range(last + 1, last + 8 * 60):
        ticked += detector.tick(minute)
    assert {d.alert_id for d in ticked} == raised
    assert all(isinstance(d, Resolved) for d in ticked)
    assert not detector.active
    assert detector.tick(last + 9 * 60) == []  # once


def test_an_sla_burst_resolves_on_the_clock() -> None:
    detector = SlaBurstDetector("acme", "customer_service")
    start = minute_of(MONDAY + timedelta(hours=9))
    decisions: list[Raised | Resolved] = []
    for index in range(8):
        decisions += detector.observe(start + index, case_id=f"burst-{index}")
    assert [type(d) for d in decisions] == [Raised]
    assert detector.tick(start + 30) == []  # still within the burst's hold
    assert [type(d) for d in detector.tick(start + 180)] == [Resolved]
    assert detector.tick(start + 240) == []
