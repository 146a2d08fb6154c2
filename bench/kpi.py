"""Benchmark kpi: events folded per second by one fact consumer with PostgreSQL, and the latency
of `/v1/kpis/summary` over a month of interactions beside a plain SQL GROUP BY over the raw
facts, measured in the same run.

    uv run python bench/kpi.py [--events 50000] [--interactions 1000000] [--requests 200] [--runs 3]
        [--fold-only] [--profile FILE]

1. Fold: `--events` interaction.received events (a month, eleven channels) are published to a
   topic of the run's own, then one ConsumerRunner with kpi's fact handlers folds them (every one
   a new fact); events/s from first poll to last, and per CPU second of this process.
2. Month: `--interactions` interaction facts for one brand are written with one INSERT ...
   SELECT, and the rollups are computed by kpi's rebuild (the same contributions the fold
   adds). Then `/v1/kpis/summary` (the month, grouped by channel) is called over real HTTP,
   and the same figures (volume, sentiment counts, mean score per channel) are computed with a
   GROUP BY over the facts table; p50 and p99 of both and their ratio are printed.
Targets: >= 10,000 events/s, summary p99 < 50 ms, >= 20x faster than the raw GROUP BY.
`--fold-only` (or KPI_BENCH_FOLD_ONLY=1) skips step 2, for iterating on the fold; `--profile FILE`
writes a cProfile of the fold runs (inflates the figures: compare CPU shares, not rates).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import statistics
import sys
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402 - after the path tweak
from aiokafka.errors import KafkaError  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from scripts.infra import create_database, running_infra  # noqa: E402
from services.kpi.config import KpiSettings  # noqa: E402
from services.kpi.facts.handlers import (  # noqa: E402
    FACT_HANDLERS,
    FACTS_CLAIM_EVENTS,
    fact_preparer,
)
from services.kpi.main import create_app, tune_interpreter  # noqa: E402
from services.kpi.models import bus_tables  # noqa: E402
from services.kpi.rollups.rebuild import rebuild  # noqa: E402
from shared.auth import Principal, PrincipalAuth  # noqa: E402
from shared.bus.admin import ensure_topics  # noqa: E402
from shared.bus.consumer import ConsumerRunner  # noqa: E402
from shared.bus.producer import EventProducer  # noqa: E402
from shared.db import create_engine, session_factory  # noqa: E402
from shared.events.envelope import Envelope  # noqa: E402
from shared.events.interactions import (  # noqa: E402
    Author,
    Interaction,
    Sentiment,
    SentimentLabel,
)
from shared.events.topics import INTERACTIONS, TOPIC_CONFIGS, all_topics  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from tests.conftest import serve  # noqa: E402

CHANNELS = [
    "facebook",
    "instagram",
    "messenger",
    "whatsapp",
    "x",
    "google_reviews",
    "youtube",
    "tiktok",
    "linkedin",
    "email",
    "other",
]
LABELS = [SentimentLabel.negative, SentimentLabel.neutral, SentimentLabel.positive]
MONTH = datetime(2026, 11, 1, tzinfo=UTC)
SECRET = "bench-kpi-secret"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _backend_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds each PostgreSQL backend has used (the server runs on this host under
    with-infra; elsewhere /proc does not hold its processes and this is empty)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


async def fold_run(
    bootstrap: str, database: str, count: int, profiler: cProfile.Profile | None = None
) -> tuple[float, float, float | None]:
    """(events/s wall clock, events per CPU second of this process, microseconds of
    PostgreSQL backend CPU per event or None) of one consumer's fold."""
    engine = create_engine(database, schema="kpi")
    producer = EventProducer(bootstrap, client_id="bench-kpi")
    await producer.start()
    brand = f"fold-{uuid.uuid4().hex[:6]}"
    handled = 0
    first_poll: float | None = None
    first_cpu = 0.0
    done = asyncio.Event()

    def counting(handler: Any) -> Any:
        async def wrapped(session: AsyncSession, envelopes: list[Envelope]) -> None:
            nonlocal handled, first_poll, first_cpu
            if first_poll is None:
                first_poll = time.perf_counter()
                first_cpu = time.process_time()
                if profiler is not None:
                    profiler.enable()
            await handler(session, envelopes)
            handled += len(envelopes)
            if handled >= count:
                if profiler is not None:
                    profiler.disable()
                done.set()

        return wrapped

    def envelope(i: int) -> Envelope:
        created = MONTH + timedelta(seconds=(i * 2593) % (30 * 86400))
        data = Interaction(
            id=f"{brand}-{i}",
            brand_id=brand,
            channel=CHANNELS[i % len(CHANNELS)],
            kind="comment",
            external_id=str(i),
            thread_external_id=str(i % 5000),
            author=Author(external_id=f"a{i % 977}", followers=i % 10000),
            text="¿Dónde está mi pedido? / Where is my order?",
            lang="es" if i % 2 else "en",
            sentiment=Sentiment(label=LABELS[i % 3], score=(i % 3 - 1) * 0.5),
            created_at=created,
            received_at=created,
        )
        return Envelope(type="interaction.received", source="bench", key=data.thread_key, data=data)

    # A topic of the run's own: a new consumer group reads a topic from its start, so on the
    # shared interactions topic a run would fold the earlier runs' events again (facts it
    # already has, which change no rollup) instead of its own.
    topic = f"{INTERACTIONS}.bench-{brand}"
    await ensure_topics(bootstrap, [topic], partitions=3, replication_factor=1)
    for start in range(0, count, 10_000):
        await producer.send_many(
            [(topic, *envelope(i).to_kafka()) for i in range(start, min(count, start + 10_000))]
        )
    # What the service does once started (services/kpi/main.py): the objects made so far are
    # never garbage, so the collector stops walking them; young collections are rarer and the
    # GIL switch interval shorter.
    tune_interpreter()
    runner = ConsumerRunner(
        name="bench-kpi",
        bootstrap=bootstrap,
        topics=[topic],
        group_id=f"bench-kpi-{brand}",
        handlers={},
        batch_handlers={name: counting(handler) for name, handler in FACT_HANDLERS.items()},
        sessions=session_factory(engine),
        tables=bus_tables,
        producer=producer,
        max_batch=KpiSettings().facts_max_batch,  # the service's default poll size
        prepare=fact_preparer(database),
        claim_events=FACTS_CLAIM_EVENTS,
    )

    async def backends() -> dict[int, float]:
        async with engine.connect() as connection:
            pids = await connection.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            )
            return _backend_cpu(list(pids))

    database_before = await backends()
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(done.wait(), 600)
        elapsed = time.perf_counter() - (first_poll or time.perf_counter())
        cpu = time.process_time() - first_cpu
        database_after = await backends()
    finally:
        runner.stop()
        # On a busy machine the group may have evicted the member already: its last commit
        # fails, which says nothing about the figures measured.
        with contextlib.suppress(KafkaError):
            await task
        await producer.stop()
        await engine.dispose()
    database_cpu = sum(used - database_before.get(pid, 0.0) for pid, used in database_after.items())
    return (
        (handled / elapsed if elapsed else 0.0),
        (handled / cpu if cpu else 0.0),
        database_cpu * 1e6 / handled if database_after else None,
    )


GENERATE_FACTS = text(
    """
    INSERT INTO kpi.interaction_facts (id, brand_id, channel, thread_key, kind, lang,
        sentiment_label, sentiment_score, own_message, created_at, version_at, version_id)
    SELECT CAST(:brand AS text) || '-' || n, :brand, (CAST(:channels AS text[]))[1 + n % 11],
        'thread-' || (n % 50000),
        'comment', CASE WHEN n % 2 = 0 THEN 'es' ELSE 'en' END,
        (ARRAY['negative', 'neutral', 'positive'])[1 + n % 3], ((n % 3) - 1) * 0.5, false,
        CAST(:start AS timestamptz) + make_interval(secs => (n::bigint * 2593) % 2592000),
        CAST(:start AS timestamptz), 'bench'
    FROM generate_series(0, :count - 1) AS n
    """
)
RAW_GROUP_BY = text(
    """
    SELECT channel, count(*) AS interactions,
        count(*) FILTER (WHERE sentiment_label = 'positive') AS positive,
        count(*) FILTER (WHERE sentiment_label = 'neutral') AS neutral,
        count(*) FILTER (WHERE sentiment_label = 'negative') AS negative,
        avg(sentiment_score) AS mean_score
    FROM kpi.interaction_facts
    WHERE brand_id = :brand AND created_at >= :start AND created_at < :end
        AND deleted_at IS NULL AND NOT own_message
    GROUP BY channel
    """
)


async def month_run(bootstrap: str, database: str, count: int, requests: int) -> dict[str, float]:
    engine = create_engine(database, schema="kpi")
    sessions = session_factory(engine)
    brand = f"month-{uuid.uuid4().hex[:6]}"
    end = MONTH + timedelta(days=30)
    figures: dict[str, float] = {}
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        await session.execute(
            GENERATE_FACTS, {"brand": brand, "channels": CHANNELS, "start": MONTH, "count": count}
        )
    figures["load_s"] = time.perf_counter() - started
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        await rebuild(session, brand)
    figures["rebuild_s"] = time.perf_counter() - started
    async with engine.connect() as connection:
        await connection.execute(text("ANALYZE kpi.interaction_facts"))
        await connection.execute(text("ANALYZE kpi.rollups"))
        await connection.commit()
    app = create_app(
        KpiSettings(
            database_url=database,
            kafka_bootstrap=bootstrap,
            internal_secret=SecretStr(SECRET),
            consumers_enabled=False,
            log_level="WARNING",
        )
    )
    auth = PrincipalAuth(Principal(key_id="bench", scopes=frozenset({"kpis:read"})), SECRET, "kpi")
    params = {
        "brand_id": brand,
        "from": MONTH.isoformat(),
        "to": end.isoformat(),
        "group_by": "channel",
    }
    ours: list[float] = []
    async with serve(app) as url, httpx.AsyncClient(timeout=30) as client:
        check = await client.get(f"{url}/v1/kpis/summary", params=params, auth=auth)
        check.raise_for_status()
        total = sum(group["kpis"]["interactions"] for group in check.json()["groups"])
        assert total == count, (total, count)
        for _ in range(requests):
            began = time.perf_counter()
            response = await client.get(f"{url}/v1/kpis/summary", params=params, auth=auth)
            ours.append((time.perf_counter() - began) * 1000)
            response.raise_for_status()
        # The floor of any request on this machine: the same HTTP stack, auth and no query.
        floor: list[float] = []
        for _ in range(requests):
            began = time.perf_counter()
            response = await client.get(f"{url}/healthz")
            floor.append((time.perf_counter() - began) * 1000)
    raw: list[float] = []
    async with engine.connect() as connection:
        for _ in range(max(5, requests // 20)):
            began = time.perf_counter()
            rows = (
                await connection.execute(RAW_GROUP_BY, {"brand": brand, "start": MONTH, "end": end})
            ).all()
            raw.append((time.perf_counter() - began) * 1000)
        assert sum(row.interactions for row in rows) == count
    await engine.dispose()
    figures.update(
        summary_p50=percentile(ours, 0.5),
        summary_p99=percentile(ours, 0.99),
        floor_p50=percentile(floor, 0.5),
        floor_p99=percentile(floor, 0.99),
        raw_p50=percentile(raw, 0.5),
        raw_p99=percentile(raw, 0.99),
    )
    return figures


async def main(
    events: int,
    interactions: int,
    requests: int,
    runs: int,
    fold_only: bool = False,
    profile: str | None = None,
) -> None:
    bootstrap = os.environ["SOCIALCARE_KAFKA_BOOTSTRAP"]
    database = await create_database(os.environ["SOCIALCARE_TEST_DATABASE_URL"])
    await ensure_topics(
        bootstrap, all_topics(), partitions=3, replication_factor=1, configs=TOPIC_CONFIGS
    )
    await asyncio.to_thread(upgrade, "kpi", database)
    rates, cpu_rates, database_cpus = [], [], []
    profiler = cProfile.Profile() if profile else None
    for _ in range(runs):
        rate, cpu_rate, database_cpu = await fold_run(bootstrap, database, events, profiler)
        rates.append(rate)
        cpu_rates.append(cpu_rate)
        database_cpus.append(database_cpu)
    if profiler is not None and profile:
        profiler.dump_stats(profile)
    month = None if fold_only else await month_run(bootstrap, database, interactions, requests)
    what = "" if month is None else f"; a month of {interactions} interactions"
    print(f"kpi benchmark: fold of {events} events{what}")
    size = "full size" if interactions >= 1_000_000 else "REDUCED size (target is 1,000,000)"
    print(
        f"  fold: {' / '.join(f'{rate:.0f}' for rate in rates)} events/s by one consumer"
        f" (target >= 10,000); best {max(rates):.0f}"
    )
    print(
        f"  fold: {' / '.join(f'{rate:.0f}' for rate in cpu_rates)} events per CPU second of the"
        " consumer process (its Python side; less sensitive to a loaded machine than wall clock)"
    )
    if all(value is not None for value in database_cpus):
        print(
            f"  fold: {' / '.join(f'{value:.0f}' for value in database_cpus if value is not None)}"
            " us of PostgreSQL backend CPU per event"
        )
    print(f"  median of the fold runs: {statistics.median(rates):.0f} events/s")
    if month is None:
        return
    print(
        f"  month ({size}): facts loaded in {month['load_s']:.1f} s,"
        f" rollups rebuilt in {month['rebuild_s']:.1f} s"
    )
    print(
        f"  /v1/kpis/summary (HTTP, {requests} calls): p50 {month['summary_p50']:.2f} ms"
        f"  p99 {month['summary_p99']:.2f} ms  (target p99 < 50 ms)"
    )
    print(
        f"  GET /healthz, the HTTP floor (same server): p50 {month['floor_p50']:.2f} ms"
        f"  p99 {month['floor_p99']:.2f} ms"
    )
    print(
        f"  raw GROUP BY over facts (SQL only):   p50 {month['raw_p50']:.2f} ms"
        f"  p99 {month['raw_p99']:.2f} ms"
    )
    print(
        f"  ratio raw/summary: p50 {month['raw_p50'] / month['summary_p50']:.1f}x"
        f"  p99 {month['raw_p99'] / month['summary_p99']:.1f}x  (target >= 20x)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="fold runs (median and best shown)")
    parser.add_argument(
        "--fold-only",
        action="store_true",
        default=os.environ.get("KPI_BENCH_FOLD_ONLY") == "1",
        help="only the fold runs (no month, no summary latency)",
    )
    parser.add_argument("--profile", help="write a cProfile of the fold runs to this file")
    args = parser.parse_args()
    with ExitStack() as stack:
        if "SOCIALCARE_KAFKA_BOOTSTRAP" not in os.environ:
            os.environ.update(
                stack.enter_context(running_infra("bench-kpi", kafka=True, postgres=True))
            )
        asyncio.run(
            main(
                args.events,
                args.interactions,
                args.requests,
                args.runs,
                fold_only=args.fold_only,
                profile=args.profile,
            )
        )
