"""The duration sketch's stated error (1 % of the exact nearest-rank quantile) and its merging,
the reply contract kpi reads, and the window rules of the KPI API. Pure: no broker, no database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.kpi.metrics.exceptions import InvalidQueryError
from services.kpi.metrics.service import segments, window
from services.kpi.rollups.sketch import ALPHA, bin_of, exact_quantile, quantile
from shared.events import topics
from shared.events.registry import EVENT_TYPES, model_for, topic_for
from shared.events.replies import REPLY_EVENT_TYPES, ReplyEvent

durations = st.lists(st.integers(min_value=0, max_value=90 * 86_400_000), min_size=1, max_size=400)


def sketch(values: list[int]) -> Counter[int]:
    return Counter(bin_of(value) for value in values)


@given(durations, st.sampled_from([0.5, 0.9, 0.99]))
def test_sketch_quantiles_are_within_alpha_of_the_exact_ones(values: list[int], q: float) -> None:
    estimated = quantile(sketch(values), q)
    exact = exact_quantile(values, q)
    assert estimated is not None
    assert exact is not None
    if exact == 0:
        assert estimated == 0
    else:
        assert abs(estimated - exact) <= ALPHA * exact + 1e-6


@given(durations, durations)
def test_merged_sketches_equal_the_sketch_of_the_union(left: list[int], right: list[int]) -> None:
    assert sketch(left) + sketch(right) == sketch(left + right)
    merged = sketch(left) + sketch(right)
    assert quantile(merged, 0.9) == quantile(sketch(left + right), 0.9)


def test_reply_types_are_on_the_replies_topic_owned_by_routing() -> None:
    assert "reply.sent" in REPLY_EVENT_TYPES
    for name in REPLY_EVENT_TYPES:
        assert topic_for(name) == topics.REPLIES
        assert EVENT_TYPES[name].owner == "routing"
        assert model_for(name) is ReplyEvent


def test_windows_tile_with_the_coarsest_buckets() -> None:
    start = datetime(2026, 11, 3, 10, 17, tzinfo=UTC)
    end = datetime(2026, 11, 5, 15, 43, tzinfo=UTC)
    tiles = segments(start, end)
    assert ("d", datetime(2026, 11, 4, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC)) in tiles
    assert ("m", start, datetime(2026, 11, 3, 11, tzinfo=UTC)) in tiles
    covered = sorted((low, high) for _granularity, low, high in tiles)
    assert covered[0][0] == start
    assert covered[-1][1] == end
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:], strict=False))


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2026-11-02T00:00:00+00:00", "2026-11-01T00:00:00+00:00", "to"),
        ("1999-12-31T00:00:00+00:00", "2000-01-02T00:00:00+00:00", "from"),
        ("2099-12-31T00:00:00+00:00", "9999-12-31T23:59:00+00:00", "to"),
        ("2024-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00", "to"),
    ],
)
def test_bad_windows_name_the_field(start: str, end: str, field: str) -> None:
    with pytest.raises(InvalidQueryError) as raised:
        window(datetime.fromisoformat(start), datetime.fromisoformat(end))
    assert raised.value.extra["field"] == field
