"""The services' start-up collector settings (shared/heap.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shared.heap import THRESHOLDS, freeze_startup_objects


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_start_up_objects_are_frozen_and_full_collections_come_later() -> None:
    gc.unfreeze()
    startup = [object() for _ in range(10)], {"model": [1.0, 2.0]}
    freeze_startup_objects()
    assert gc.get_freeze_count() > 0
    assert all(tracked is not startup for tracked in gc.get_objects())  # not walked again
    assert gc.get_threshold() == THRESHOLDS
    assert THRESHOLDS[2] > 10  # the oldest generation later than CPython's default
    assert THRESHOLDS[:2] == (700, 10)  # the young generations as by default


@pytest.mark.usefixtures("restored_collector")
def test_cyclic_garbage_is_still_collected_after_the_freeze() -> None:
    freeze_startup_objects()

    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None

    first, second = Node(), Node()
    first.other, second.other = second, first
    del first, second
    assert gc.collect() >= 2
