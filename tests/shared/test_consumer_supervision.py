"""A consumer whose loop fails (a refused offset commit, a broker that stays away) is started
again with a growing pause, counted and logged, instead of dying while the service keeps
answering HTTP; `stop` ends the supervision, also during a pause."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiokafka.errors import CommitFailedError

from shared.bus.consumer import RESTARTS, ConsumerRunner


class FlakyRunner(ConsumerRunner):
    """`run` fails `failures` times, then runs until stopped."""

    def __init__(self, failures: int) -> None:
        super().__init__(
            name="test.flaky",
            bootstrap="127.0.0.1:9",
            topics=["t"],
            group_id="g",
            handlers={},
            sessions=cast(Any, None),
            tables=cast(Any, None),
            producer=cast(Any, None),
        )
        self.failures = failures
        self.runs = 0
        self.running = asyncio.Event()

    async def run(self) -> None:
        self.runs += 1
        if self.runs <= self.failures:
            raise CommitFailedError("the group rebalanced")
        self.running.set()
        await self._stopping.wait()


def restarts() -> float:
    return RESTARTS.labels("test.flaky")._value.get()  # type: ignore[no-any-return]


async def test_a_failed_loop_is_started_again_until_it_runs() -> None:
    before = restarts()
    runner = FlakyRunner(failures=3)
    task = asyncio.create_task(runner.run_supervised(first_delay=0.01, max_delay=0.05))

    await asyncio.wait_for(runner.running.wait(), timeout=5)
    assert runner.runs == 4
    assert restarts() - before == 3

    runner.stop()
    await asyncio.wait_for(task, timeout=5)
    assert task.exception() is None


async def test_stop_during_the_pause_ends_the_supervision() -> None:
    runner = FlakyRunner(failures=100)
    task = asyncio.create_task(runner.run_supervised(first_delay=30, max_delay=30))
    for _ in range(100):
        if runner.runs:
            break
        await asyncio.sleep(0.01)
    assert runner.runs == 1

    runner.stop()
    await asyncio.wait_for(task, timeout=2)  # not after the 30 s pause
    assert runner.runs == 1
