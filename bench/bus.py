"""Benchmark: the project's bus (CloudEvents envelope, idempotent producer, consumer runner with
dedupe in PostgreSQL) beside raw aiokafka (bytes in, bytes out, no envelope, no dedupe), through
the same real broker in the same run.

Prints, for each: throughput (messages/s, publish of N messages until the last one is handled),
this process's CPU time per message over that run, and publish→handle latency p50/p99 at a
steady 1,000 messages/s; then the ratios. On a loaded machine the CPU figures are the steadier.

    make bench                      # starts Kafka and PostgreSQL, runs every benchmark
    python bench/bus.py             # uses SOCIALCARE_KAFKA_BOOTSTRAP / ..._TEST_DATABASE_URL,
                                    # or starts its own throwaway broker and cluster
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from sqlalchemy import MetaData, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from scripts.infra import running_infra  # noqa: E402
from shared.bus.admin import ensure_topics  # noqa: E402
from shared.bus.consumer import ConsumerRunner  # noqa: E402
from shared.bus.producer import EventProducer  # noqa: E402
from shared.bus.tables import define_bus_tables  # noqa: E402
from shared.db import NAMING_CONVENTION, create_engine, session_factory  # noqa: E402
from shared.events.envelope import Envelope  # noqa: E402
from shared.events.registry import EventType, register  # noqa: E402


class BenchMessage(BaseModel):
    brand_id: str
    seq: int
    text: str


TEXT = "Llevo dos semanas esperando mi pedido #4471 y nadie me responde. ¿Me podéis ayudar?"


@dataclass
class Figures:
    throughput: float
    p50_ms: float
    p99_ms: float
    rate_achieved: float
    # This process's CPU time per message over the throughput run (publish and handle): what
    # a loaded machine's wall-clock figures hide.
    cpu_us: float


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def paced(count: int, rate: int, send: Callable[[int], Awaitable[None]]) -> float:
    """Call `send(i)` at `rate` per second; return the achieved rate."""
    started = time.perf_counter()
    for index in range(count):
        target = started + index / rate
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await send(index)
    return count / (time.perf_counter() - started)


async def wait_until(predicate: Callable[[], bool], limit: float) -> None:
    deadline = time.perf_counter() + limit
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("messages were not all handled in time")
        await asyncio.sleep(0.002)


# ------------------------------------------------------------------------------ raw aiokafka


async def raw_run(bootstrap: str, count: int, rate: int, latency_count: int) -> Figures:
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic], partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=2)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{topic}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
    )
    await producer.start()
    await consumer.start()
    handled = 0
    latencies: list[float] = []
    stop = asyncio.Event()

    async def consume() -> None:
        nonlocal handled
        last_commit = 0.0
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            now = time.time()
            for records in batches.values():
                for record in records:
                    sent = json.loads(record.value)["t"]
                    latencies.append((now - sent) * 1000)
                    handled += 1
            # The same commit cadence as the project's runner, so only envelope and dedupe differ.
            if batches and time.monotonic() - last_commit >= 0.25:
                await consumer.commit()
                last_commit = time.monotonic()

    task = asyncio.create_task(consume())
    try:
        while not consumer.assignment():  # noqa: ASYNC110 - aiokafka offers no assignment event
            await asyncio.sleep(0.05)
        started, cpu_started = time.perf_counter(), time.process_time()
        futures = [
            await producer.send(
                topic,
                json.dumps(
                    {"brand_id": "bench", "seq": i, "text": TEXT, "t": time.time()}
                ).encode(),
                key=f"bench:x:{i % 64}".encode(),
            )
            for i in range(count)
        ]
        await asyncio.gather(*futures)
        await wait_until(lambda: handled >= count, 120)
        throughput = count / (time.perf_counter() - started)
        cpu_us = (time.process_time() - cpu_started) / count * 1e6
        latencies.clear()
        before = handled

        async def send_one(i: int) -> None:
            payload = {"brand_id": "bench", "seq": i, "text": TEXT, "t": time.time()}
            await producer.send(
                topic, json.dumps(payload).encode(), key=f"bench:x:{i % 64}".encode()
            )

        achieved = await paced(latency_count, rate, send_one)
        await wait_until(lambda: handled >= before + latency_count, 60)
    finally:
        stop.set()
        await task
        await consumer.stop()
        await producer.stop()
    return Figures(
        throughput, percentile(latencies, 0.5), percentile(latencies, 0.99), achieved, cpu_us
    )


# ------------------------------------------------------------------------------ project bus


async def bus_run(
    bootstrap: str, database_url: str, count: int, rate: int, latency_count: int
) -> Figures:
    suffix = uuid.uuid4().hex[:8]
    topic = f"bench.bus.{suffix}"
    event_type = f"bench.message.{suffix}"
    register(EventType(event_type, topic, BenchMessage, "bench"))
    await ensure_topics(bootstrap, [topic, f"{topic}.dlq"], partitions=3)
    schema = f"bench_{suffix}"
    engine = create_engine(database_url, schema=schema)
    metadata = MetaData(schema=schema, naming_convention=NAMING_CONVENTION)
    tables = define_bus_tables(metadata)
    async with engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        await connection.run_sync(metadata.create_all)
    producer = EventProducer(bootstrap, client_id="bench")
    await producer.start()
    handled = 0
    latencies: list[float] = []

    async def handler(session: AsyncSession, envelope: Envelope) -> None:
        nonlocal handled
        latencies.append((time.time() - envelope.time.timestamp()) * 1000)
        handled += 1

    runner = ConsumerRunner(
        name="bench",
        bootstrap=bootstrap,
        topics=[topic],
        group_id=f"bench-{suffix}",
        handlers={event_type: handler},
        sessions=session_factory(engine),
        tables=tables,
        producer=producer,
        max_batch=int(os.environ.get("BENCH_MAX_BATCH", "500")),
    )
    task = asyncio.create_task(runner.run())

    def envelope(i: int) -> Envelope:
        return Envelope(
            type=event_type,
            source="/bench",
            key=f"bench:x:{i % 64}",
            data=BenchMessage(brand_id="bench", seq=i, text=TEXT),
        )

    try:
        await asyncio.wait_for(runner.ready.wait(), 30)
        started, cpu_started = time.perf_counter(), time.process_time()
        await producer.publish(*(envelope(i) for i in range(count)))
        await wait_until(lambda: handled >= count, 180)
        throughput = count / (time.perf_counter() - started)
        cpu_us = (time.process_time() - cpu_started) / count * 1e6
        latencies.clear()
        before = handled
        pending: list[asyncio.Task[Any]] = []

        async def send_one(i: int) -> None:
            # As a request handler publishes: one event, acknowledged on its own.
            pending.append(asyncio.create_task(producer.publish(envelope(count + i))))

        achieved = await paced(latency_count, rate, send_one)
        await asyncio.gather(*pending)
        await wait_until(lambda: handled >= before + latency_count, 60)
    finally:
        runner.stop()
        await task
        await producer.stop()
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()
    return Figures(
        throughput, percentile(latencies, 0.5), percentile(latencies, 0.99), achieved, cpu_us
    )


async def main(count: int, rate: int, latency_seconds: int) -> None:
    bootstrap = os.environ["SOCIALCARE_KAFKA_BOOTSTRAP"]
    database_url = os.environ["SOCIALCARE_TEST_DATABASE_URL"]
    latency_count = rate * latency_seconds
    # Interleave to spread the machine's noise over both sides.
    raw = await raw_run(bootstrap, count, rate, latency_count)
    bus = await bus_run(bootstrap, database_url, count, rate, latency_count)
    raw2 = await raw_run(bootstrap, count, rate, latency_count)
    bus2 = await bus_run(bootstrap, database_url, count, rate, latency_count)
    raw_tp = statistics.mean([raw.throughput, raw2.throughput])
    bus_tp = statistics.mean([bus.throughput, bus2.throughput])
    print(
        f"bus benchmark: {count} messages for throughput, {latency_count} at {rate}/s for latency"
    )
    for name, runs in (("raw aiokafka", (raw, raw2)), ("socialcare bus", (bus, bus2))):
        for run in runs:
            print(
                f"  {name:<15} {run.throughput:>9.0f} msg/s   "
                f"latency at {run.rate_achieved:.0f}/s: p50 {run.p50_ms:6.2f} ms  "
                f"p99 {run.p99_ms:6.2f} ms   CPU {run.cpu_us:5.0f} µs/msg"
            )
    print(f"  throughput ratio bus/raw: {bus_tp / raw_tp:.2f}  (target >= 0.60)")
    raw_cpu = statistics.mean([raw.cpu_us, raw2.cpu_us])
    bus_cpu = statistics.mean([bus.cpu_us, bus2.cpu_us])
    print(f"  CPU per message bus/raw: {bus_cpu:.0f}/{raw_cpu:.0f} µs = {bus_cpu / raw_cpu:.2f}")
    worst = max(bus.p99_ms, bus2.p99_ms)
    print(f"  bus p99 at {rate}/s: {worst:.2f} ms  (target < 50 ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--latency-seconds", type=int, default=5)
    args = parser.parse_args()
    with ExitStack() as stack:
        if "SOCIALCARE_KAFKA_BOOTSTRAP" not in os.environ:
            os.environ.update(
                stack.enter_context(running_infra("bench-bus", kafka=True, postgres=True))
            )
        asyncio.run(main(args.messages, args.rate, args.latency_seconds))
