"""A mergeable quantile sketch for durations: log-spaced bins with relative error ALPHA.

The bins are the DDSketch mapping (bin i holds values in (gamma^(i-1), gamma^i], gamma =
(1 + ALPHA) / (1 - ALPHA)); the estimate of a bin is within ALPHA of every value in it, so the
p-quantile read from the bins is within ALPHA (relative) of the exact nearest-rank p-quantile.
Written here rather than taken from the `ddsketch` package because the bins live in database
rows: they are summed by GROUP BY across buckets and dimensions and subtracted when a fact is
retracted, which needs only the mapping, not the package's in-memory sketch objects.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = math.log(GAMMA)
# Bin 0 holds zero durations (a reply the same millisecond); bin i + 1 the values of DDSketch
# bin i, for values of at least one millisecond.
ZERO_BIN = 0


def bin_of(milliseconds: int) -> int:
    """The bin of a duration in milliseconds."""
    if milliseconds <= 0:
        return ZERO_BIN
    return math.ceil(math.log(milliseconds) / _LOG_GAMMA) + 1


def estimate(bin_index: int) -> float:
    """The value (milliseconds) a bin stands for: within ALPHA of any value in it."""
    if bin_index == ZERO_BIN:
        return 0.0
    return 2 * GAMMA ** (bin_index - 1) / (GAMMA + 1)


def nearest_rank(count: int, quantile: float) -> int:
    """1-based rank of the p-quantile among `count` sorted values (nearest-rank method)."""
    return max(1, math.ceil(quantile * count - 1e-9))


def quantile(bins: Mapping[int, int], quantile: float) -> float | None:
    """The p-quantile (milliseconds) of the values counted in `bins`; None when empty."""
    total = sum(count for count in bins.values() if count > 0)
    if total == 0:
        return None
    rank = nearest_rank(total, quantile)
    seen = 0
    for index in sorted(bins):
        count = bins[index]
        if count <= 0:
            continue
        seen += count
        if seen >= rank:
            return estimate(index)
    return estimate(max(bins))


def exact_quantile(values: Iterable[float], quantile: float) -> float | None:
    """The exact nearest-rank p-quantile, the reference the sketch is tested against."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[nearest_rank(len(ordered), quantile) - 1]
