"""The services' start-up interpreter settings (shared/heap.py)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from shared.heap import (
    MIDDLE_THRESHOLD,
    OLD_THRESHOLD,
    SWITCH_INTERVAL_SECONDS,
    YOUNG_THRESHOLD,
    tune_interpreter,
)


@pytest.fixture
def restored_interpreter() -> Iterator[None]:
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("restored_interpreter")
def test_start_up_objects_are_frozen_and_full_collections_come_later() -> None:
    gc.unfreeze()
    startup = [object() for _ in range(10)], {"model": [1.0, 2.0]}
    tune_interpreter()
    assert gc.get_freeze_count() > 0
    assert all(tracked is not startup for tracked in gc.get_objects())  # not walked again
    assert gc.get_threshold() == (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    assert (YOUNG_THRESHOLD, MIDDLE_THRESHOLD) == (700, 10)  # CPython's defaults
    assert OLD_THRESHOLD > 10  # the oldest generation later than by default
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_SECONDS)
    assert SWITCH_INTERVAL_SECONDS < 0.005


@pytest.mark.usefixtures("restored_interpreter")
def test_a_service_may_collect_its_young_generation_more_rarely() -> None:
    tune_interpreter(young_threshold=100_000)
    assert gc.get_threshold() == (100_000, MIDDLE_THRESHOLD, OLD_THRESHOLD)


@pytest.mark.usefixtures("restored_interpreter")
def test_cyclic_garbage_is_still_collected_after_the_freeze() -> None:
    tune_interpreter()

    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None

    first, second = Node(), Node()
    first.other, second.other = second, first
    del first, second
    assert gc.collect() >= 2
