"""How long heavy request work holds up everything else on the same event loop.

Two pieces of CPU work a request can bring: ingest's enrichment of a REST batch of 1,000
items (language, sentiment, PII), and guidelines' check of a batch of 200 replies. Each runs
twice in this process: as before, on the event loop (the baseline), and as the services now
run it, in a worker thread (`asyncio.to_thread`). Meanwhile a probe coroutine asks to wake up
every millisecond, as a webhook or a health check would; its worst lateness is what another
request waits. Prints both and their ratio (baseline ÷ now).

    uv run python bench/event_loop.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.guidelines.engine import GuidelineConfig, compile_guideline  # noqa: E402
from services.guidelines.schemas import BatchItem  # noqa: E402
from services.guidelines.service import run_batch  # noqa: E402
from services.ingest.enrichment import warm_up  # noqa: E402
from services.ingest.pipeline import change_from_rest, enrich_changes  # noqa: E402
from services.ingest.schemas import InteractionIn  # noqa: E402
from shared.events.interactions import Channel, InteractionKind  # noqa: E402

TEXTS = [
    "El pedido llegó roto y nadie responde. Muy decepcionada con el servicio, la verdad.",
    "Love the new store in Madrid! The staff were super helpful, thanks a lot.",
    "Llevo dos semanas esperando mi reembolso, ¿alguien me puede ayudar? Mi correo es a@b.es",
    "Worst support ever, I have been waiting for a reply for days. Call me at +34 600 000 000",
]


def intake_work() -> Callable[[], None]:
    items = [
        InteractionIn(
            brand_id="acme",
            channel=Channel.google_reviews,
            kind=InteractionKind.review,
            external_id=f"bench-{index}",
            text=f"{TEXTS[index % len(TEXTS)]} #{index}",
            created_at="2026-11-20T10:15:00Z",
        )
        for index in range(1000)
    ]

    def work() -> None:
        enrich_changes([change_from_rest(item) for item in items])

    return work


def batch_check_work() -> Callable[[], None]:
    compiled = compile_guideline(GuidelineConfig(formality="usted"))
    items = [BatchItem(text=TEXTS[index % len(TEXTS)] * 3) for index in range(200)]

    def work() -> None:
        run_batch(compiled, 1, items, lang=None, channel="x")

    return work


async def worst_lateness(work: Callable[[], None], *, off_loop: bool) -> tuple[float, float]:
    """(worst probe lateness, wall time of the work), in milliseconds."""
    stop = asyncio.Event()
    lateness: list[float] = []

    async def probe() -> None:
        while not stop.is_set():
            asked = time.perf_counter()
            await asyncio.sleep(0.001)
            lateness.append(time.perf_counter() - asked - 0.001)

    task = asyncio.create_task(probe())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    if off_loop:
        await asyncio.to_thread(work)
    else:
        work()
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0.01)
    stop.set()
    await task
    return max(lateness) * 1000, elapsed * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    warm_up()
    for name, build in (("intake 1,000 items", intake_work), ("check batch 200", batch_check_work)):
        work = build()
        work()  # caches and lazy models loaded before measuring
        figures: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for _ in range(arguments.rounds):  # interleaved, so machine noise hits both alike
            for off_loop in (False, True):
                figures[off_loop].append(await worst_lateness(work, off_loop=off_loop))
        on = statistics.median(late for late, _ in figures[False])
        off = statistics.median(late for late, _ in figures[True])
        on_wall = statistics.median(wall for _, wall in figures[False])
        off_wall = statistics.median(wall for _, wall in figures[True])
        print(
            f"{name}: worst wait of another request {on:.1f} ms on the loop (baseline) -> "
            f"{off:.1f} ms in a thread, {on / max(off, 0.001):.0f}x shorter; work took "
            f"{on_wall:.0f} ms -> {off_wall:.0f} ms (median of {arguments.rounds} rounds)"
        )


if __name__ == "__main__":
    asyncio.run(main())
