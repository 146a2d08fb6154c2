"""Every KPI of DESIGN.md as a function of summed rollup measures. Pure.

Durations are in seconds; rates and compliance in percent (0-100); net sentiment in -100..100.
`*_business_*` durations count only the open hours of the handling department's calendar, over
the cases (`first_response_business_count`, `resolution_business_count`) and replies
(`next_response_business_count`) routing measured them for.
Means are exact; medians and p90 come from the duration sketch (services/kpi/rollups/sketch.py),
within 1 % of the exact nearest-rank value (the median is the lower median).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from services.kpi.rollups.contributions import SCORE_SCALE
from services.kpi.rollups.measures import MEASURES, Sketch
from services.kpi.rollups.sketch import quantile


class Direction(StrEnum):
    at_most = "at_most"  # lower is better: a goal's value must stay at or under the target
    at_least = "at_least"


@dataclass(frozen=True)
class MetricInfo:
    direction: Direction
    # Additive totals grow with time: their projection for a period scales with it; the others
    # (times, rates, shares) are projected as they stand.
    additive: bool = False


_TIMES = {
    f"{prefix}_{stat}": MetricInfo(Direction.at_most)
    for prefix in (
        "first_response",
        "first_response_business",
        "next_response",
        "next_response_business",
        "resolution",
        "resolution_business",
    )
    for stat in ("mean_seconds", "median_seconds", "p90_seconds")
}
METRICS: dict[str, MetricInfo] = {
    "interactions": MetricInfo(Direction.at_least, additive=True),
    "cases_opened": MetricInfo(Direction.at_least, additive=True),
    "cases_responded": MetricInfo(Direction.at_least, additive=True),
    "response_rate": MetricInfo(Direction.at_least),
    "first_response_count": MetricInfo(Direction.at_least, additive=True),
    **{name: info for name, info in _TIMES.items() if name.startswith("first_response_")},
    "first_response_business_count": MetricInfo(Direction.at_least, additive=True),
    "next_response_count": MetricInfo(Direction.at_least, additive=True),
    **{name: info for name, info in _TIMES.items() if name.startswith("next_response_")},
    "next_response_business_count": MetricInfo(Direction.at_least, additive=True),
    "cases_resolved": MetricInfo(Direction.at_least, additive=True),
    **{name: info for name, info in _TIMES.items() if name.startswith("resolution_")},
    "resolution_business_count": MetricInfo(Direction.at_least, additive=True),
    "sla_ended": MetricInfo(Direction.at_least, additive=True),
    "sla_met": MetricInfo(Direction.at_least, additive=True),
    "sla_compliance": MetricInfo(Direction.at_least),
    "replies_sent": MetricInfo(Direction.at_least, additive=True),
    "sentiment_positive": MetricInfo(Direction.at_least, additive=True),
    "sentiment_neutral": MetricInfo(Direction.at_least, additive=True),
    "sentiment_negative": MetricInfo(Direction.at_most, additive=True),
    "sentiment_total": MetricInfo(Direction.at_least, additive=True),
    "net_sentiment": MetricInfo(Direction.at_least),
    "sentiment_mean_score": MetricInfo(Direction.at_least),
    "likes": MetricInfo(Direction.at_least, additive=True),
    "comments": MetricInfo(Direction.at_least, additive=True),
    "shares": MetricInfo(Direction.at_least, additive=True),
    "views": MetricInfo(Direction.at_least, additive=True),
    "engagement_rate": MetricInfo(Direction.at_least),
    "replies_checked": MetricInfo(Direction.at_least, additive=True),
    "replies_first_pass": MetricInfo(Direction.at_least, additive=True),
    "guideline_first_pass_rate": MetricInfo(Direction.at_least),
    "ideas_collected": MetricInfo(Direction.at_least, additive=True),
}
METRIC_NAMES = tuple(METRICS)


@dataclass
class Totals:
    """Summed measures and sketch bins of one group."""

    measures: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0))
    sketches: dict[int, dict[int, int]] = field(default_factory=dict)

    def add_measures(self, values: Mapping[str, int]) -> None:
        for name, value in values.items():
            self.measures[name] += value

    def add_bin(self, metric: int, bin_index: int, count: int) -> None:
        bins = self.sketches.setdefault(metric, {})
        bins[bin_index] = bins.get(bin_index, 0) + count


def _ratio(part: int, whole: int, scale: float = 100.0) -> float | None:
    return part * scale / whole if whole else None


def _seconds(milliseconds: float | None) -> float | None:
    return milliseconds / 1000 if milliseconds is not None else None


def _durations(
    totals: Totals, prefix: str, sketch: Sketch, count_name: str, sum_name: str
) -> dict[str, float | None]:
    count = totals.measures[count_name]
    bins = totals.sketches.get(int(sketch), {})
    return {
        f"{prefix}_mean_seconds": _seconds(totals.measures[sum_name] / count) if count else None,
        f"{prefix}_median_seconds": _seconds(quantile(bins, 0.5)),
        f"{prefix}_p90_seconds": _seconds(quantile(bins, 0.9)),
    }


def compute(totals: Totals) -> dict[str, float | int | None]:
    """Every KPI of one group, by the names of METRICS."""
    m = totals.measures
    labelled = m["sentiment_positive"] + m["sentiment_neutral"] + m["sentiment_negative"]
    engaged = m["likes"] + m["comments"] + m["shares"]
    values: dict[str, float | int | None] = {
        "interactions": m["interactions"],
        "cases_opened": m["cases_opened"],
        "cases_responded": m["cases_responded"],
        "response_rate": _ratio(m["cases_responded"], m["cases_opened"]),
        "first_response_count": m["first_response_count"],
        **_durations(
            totals,
            "first_response",
            Sketch.first_response,
            "first_response_count",
            "first_response_ms",
        ),
        "first_response_business_count": m["first_response_business_count"],
        **_durations(
            totals,
            "first_response_business",
            Sketch.first_response_business,
            "first_response_business_count",
            "first_response_business_ms",
        ),
        "next_response_count": m["next_response_count"],
        **_durations(
            totals, "next_response", Sketch.next_response, "next_response_count", "next_response_ms"
        ),
        "next_response_business_count": m["next_response_business_count"],
        **_durations(
            totals,
            "next_response_business",
            Sketch.next_response_business,
            "next_response_business_count",
            "next_response_business_ms",
        ),
        "cases_resolved": m["cases_resolved"],
        **_durations(totals, "resolution", Sketch.resolution, "cases_resolved", "resolution_ms"),
        "resolution_business_count": m["resolution_business_count"],
        **_durations(
            totals,
            "resolution_business",
            Sketch.resolution_business,
            "resolution_business_count",
            "resolution_business_ms",
        ),
        "sla_ended": m["sla_ended"],
        "sla_met": m["sla_met"],
        "sla_compliance": _ratio(m["sla_met"], m["sla_ended"]),
        "replies_sent": m["replies_sent"],
        "sentiment_positive": m["sentiment_positive"],
        "sentiment_neutral": m["sentiment_neutral"],
        "sentiment_negative": m["sentiment_negative"],
        "sentiment_total": labelled,
        "net_sentiment": _ratio(m["sentiment_positive"] - m["sentiment_negative"], labelled),
        "sentiment_mean_score": (
            m["sentiment_score_micros"] / SCORE_SCALE / m["sentiment_scored"]
            if m["sentiment_scored"]
            else None
        ),
        "likes": m["likes"],
        "comments": m["comments"],
        "shares": m["shares"],
        "views": m["views"],
        "engagement_rate": _ratio(engaged, m["views"]),
        "replies_checked": m["replies_checked"],
        "replies_first_pass": m["replies_first_pass"],
        "guideline_first_pass_rate": _ratio(m["replies_first_pass"], m["replies_checked"]),
        "ideas_collected": m["ideas_collected"],
    }
    return values
