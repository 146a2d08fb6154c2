"""Benchmark: webhook deliveries/s to a local receiver, beside plain httpx POSTs of the same
bodies to the same receiver in the same run.

1. 100 endpoints, every one answering at once: events published on Kafka, fanned out to 100
   deliveries each, signed, sent and logged (attempt rows, delivery state) by the service;
   the baseline POSTs the same bodies with httpx at the same concurrency (no signing, no
   database).
2. The same with 10 of the endpoints answering slowly (`--slow-seconds`): the rate of the 90
   others. The baseline's workers share one queue, as a naive sender would, so slow receivers
   hold them up (head-of-line blocking); the service bounds each endpoint on its own.
3. Memory while endpoints are down: resident memory of the process before and after a backlog
   of deliveries to endpoints that refuse connections (the backlog waits in PostgreSQL).

    make bench                 # starts Kafka and PostgreSQL, runs every benchmark
    python bench/webhooks.py   # uses SOCIALCARE_KAFKA_BOOTSTRAP / ..._TEST_DATABASE_URL,
                               # or starts its own throwaway broker and cluster
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# ------------------------------------------------------------------ the receiver (own process)


def receiver_main(port: int, slow_seconds: float) -> None:
    """Answers 200 at once, after `slow_seconds` on /slow/*; GET /count says how many POSTs
    of each kind arrived."""
    counts = {"fast": 0, "slow": 0}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
        body = b""
        if scope["method"] == "GET":
            body = json.dumps(counts).encode()
        elif scope["path"].startswith("/slow/"):
            await asyncio.sleep(slow_seconds)
            counts["slow"] += 1
        else:
            counts["fast"] += 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    import uvicorn

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        loop="asyncio",
        http="httptools",  # the cheaper parser: the receiver should not be what is measured
        backlog=4096,
        timeout_keep_alive=120,  # no idle-connection race in the middle of a run
        lifespan="off",
    )


if __name__ == "__main__" and sys.argv[1:2] == ["--receiver"]:
    # The receiver's process starts here, without the project's imports.
    receiver_main(int(sys.argv[2]), float(sys.argv[3]))
    sys.exit(0)


import httpx  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from scripts.infra import create_database, free_port, running_infra, wait_for_port  # noqa: E402
from services.webhooks.config import WebhooksSettings  # noqa: E402
from services.webhooks.main import create_app  # noqa: E402
from shared.auth import Principal, PrincipalAuth  # noqa: E402
from shared.bus.producer import EventProducer  # noqa: E402
from shared.events.cases import CaseEvent, CaseStatus, Priority  # noqa: E402
from shared.events.envelope import Envelope  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from shared.runtime import ServiceRuntime  # noqa: E402
from shared.settings import Environment  # noqa: E402
from tests.conftest import serve  # noqa: E402

SECRET = "bench-internal-secret"
AUTH = PrincipalAuth(Principal(key_id="bench", scopes=frozenset({"admin"})), SECRET, "webhooks")


class ReceiverProcess:
    def __init__(self, slow_seconds: float) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--receiver", str(self.port), str(slow_seconds)]
        )
        wait_for_port(self.port, 120, self.process)

    async def counts(self, client: httpx.AsyncClient) -> dict[str, int]:
        response = await client.get(f"{self.url}/count")
        counts: dict[str, int] = response.json()
        return counts

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


# ------------------------------------------------------------------ the service side


def case(brand: str, seq: int) -> CaseEvent:
    now = time.time()
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(now, UTC)
    return CaseEvent(
        case_id=f"cas_{seq}",
        brand_id=brand,
        thread_key=f"{brand}:x:{seq}",
        channel="x",
        status=CaseStatus.open,
        priority=Priority.normal,
        department="customer_service",
        intent="complaint",
        sentiment_label="negative",
        tags=["pedido", "retraso"],
        note="Llevo dos semanas esperando mi pedido #4471 y nadie me responde.",
        first_inbound_at=moment,
        last_inbound_at=moment,
        opened_at=moment,
        occurred_at=moment,
    )


async def make_endpoints(
    client: httpx.AsyncClient, service_url: str, urls: list[str], brand: str
) -> list[str]:
    ids = []
    for url in urls:
        response = await client.post(
            f"{service_url}/v1/webhook-endpoints",
            json={"url": url, "event_types": ["case.*"], "brand_ids": [brand]},
            auth=AUTH,
        )
        response.raise_for_status()
        ids.append(response.json()["id"])
    return ids


async def wait_count(
    client: httpx.AsyncClient, receiver: ReceiverProcess, kind: str, target: int, within: float
) -> float:
    began = time.monotonic()
    while time.monotonic() - began < within:
        if (await receiver.counts(client))[kind] >= target:
            return time.monotonic()
        await asyncio.sleep(0.02)
    raise TimeoutError(f"only {(await receiver.counts(client))[kind]} of {target} {kind}")


async def service_run(
    client: httpx.AsyncClient,
    service_url: str,
    producer: EventProducer,
    receiver: ReceiverProcess,
    *,
    fast: int,
    slow: int,
    events: int,
) -> tuple[float, list[bytes]]:
    """Deliveries/s of the fast endpoints; the bodies sent (for the baseline)."""
    brand = f"bench-{uuid.uuid4().hex[:6]}"
    urls = [f"{receiver.url}/fast/{index}" for index in range(fast)]
    urls += [f"{receiver.url}/slow/{index}" for index in range(slow)]
    await make_endpoints(client, service_url, urls, brand)
    await asyncio.sleep(0.5)  # the directory reloads
    before = (await receiver.counts(client))["fast"]
    envelopes = [
        Envelope(type="case.updated", source="bench", key=f"{brand}:x:{seq}", data=case(brand, seq))
        for seq in range(events)
    ]
    began = time.monotonic()
    await producer.publish(*envelopes)
    ended = await wait_count(client, receiver, "fast", before + fast * events, within=300)
    rate = fast * events / (ended - began)
    bodies = [envelope.data.model_dump_json().encode() for envelope in envelopes]
    return rate, bodies


async def baseline_run(
    receiver: ReceiverProcess,
    bodies: list[bytes],
    *,
    fast: int,
    slow: int,
    concurrency: int,
    per_endpoint: int,
) -> float:
    """Plain httpx POSTs of the same bodies to the same paths, `concurrency` workers sharing one
    queue; the rate of the fast paths' POSTs (until the last fast one is answered)."""
    paths = [f"/fast/{index}" for index in range(fast)] + [f"/slow/{i}" for i in range(slow)]
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for body in bodies:
        for path in paths:
            queue.put_nowait((path, body))
    fast_total = fast * len(bodies)
    done_fast = 0
    finished = asyncio.Event()
    ended = 0.0
    # One pool per endpoint, as the service has: one client with `concurrency` connections
    # spends its time scanning its pool (see services/webhooks/delivery/sender.py).
    limits = httpx.Limits(max_connections=per_endpoint, max_keepalive_connections=per_endpoint)
    clients = {
        path: httpx.AsyncClient(base_url=receiver.url, limits=limits, timeout=60) for path in paths
    }
    try:

        async def worker() -> None:
            nonlocal done_fast, ended
            while not queue.empty() and not finished.is_set():
                path, body = queue.get_nowait()
                for attempt in range(3):  # a plain sender retries a dropped connection too
                    try:
                        response = await clients[path].post(
                            path, content=body, headers={"content-type": "application/json"}
                        )
                        break
                    except httpx.TransportError:
                        if attempt == 2:
                            raise
                response.raise_for_status()
                if path.startswith("/fast/"):
                    done_fast += 1
                    if done_fast == fast_total:
                        ended = time.monotonic()
                        finished.set()

        began = time.monotonic()
        tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
        waiter = asyncio.create_task(finished.wait())
        await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_EXCEPTION)
        for task in [waiter, *tasks]:
            task.cancel()
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, Exception):
                raise outcome
    finally:
        for client in clients.values():
            await client.aclose()
    return fast_total / (ended - began)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def memory_run(
    client: httpx.AsyncClient,
    service_url: str,
    producer: EventProducer,
    runtime: ServiceRuntime,
    *,
    endpoints: int,
    events: int,
) -> tuple[float, float, int]:
    """RSS before and after `events` x `endpoints` deliveries to endpoints that are down."""
    brand = f"bench-down-{uuid.uuid4().hex[:6]}"
    closed = f"http://127.0.0.1:{free_port()}"
    await make_endpoints(
        client, service_url, [f"{closed}/down/{index}" for index in range(endpoints)], brand
    )
    await asyncio.sleep(0.5)
    before = rss_mb()
    envelopes = [
        Envelope(type="case.updated", source="bench", key=f"{brand}:x:{seq}", data=case(brand, seq))
        for seq in range(events)
    ]
    for start in range(0, len(envelopes), 500):
        await producer.publish(*envelopes[start : start + 500])
    await asyncio.sleep(10)  # fanned out, first attempts made and failed, retries waiting
    from sqlalchemy import text

    async with runtime.sessions() as session:
        pending = await session.scalar(
            text("SELECT count(*) FROM webhooks.deliveries WHERE status = 'pending'")
        )
    return before, rss_mb(), int(pending or 0)


async def run(args: argparse.Namespace, postgres_url: str, bootstrap: str) -> None:
    database = await create_database(postgres_url)
    await asyncio.to_thread(upgrade, "webhooks", database)
    settings = WebhooksSettings(
        environment=Environment.test,
        database_url=database,
        kafka_bootstrap=bootstrap,
        internal_secret=SecretStr(SECRET),
        ssrf_allowlist=["127.0.0.1/32"],
        consumer_group=f"webhooks-bench-{uuid.uuid4().hex[:6]}",
        max_in_flight=args.concurrency,
        max_in_flight_per_endpoint=args.per_endpoint,
        dispatch_poll_seconds=0.05,
        log_level="WARNING",
    )
    app = create_app(settings)
    producer = EventProducer(bootstrap, client_id="bench-webhooks")
    await producer.start()
    receiver = ReceiverProcess(args.slow_seconds)
    try:
        async with serve(app) as service_url, httpx.AsyncClient(timeout=60) as client:
            runtime: ServiceRuntime = app.state.runtime
            for runner in runtime.consumers:
                await asyncio.wait_for(runner.ready.wait(), 60)
            # Warm-up: connections, prepared statements, the broker's JIT.
            await service_run(client, service_url, producer, receiver, fast=10, slow=0, events=20)
            await baseline_run(
                receiver, [b"{}"] * 200, fast=10, slow=0, concurrency=50, per_endpoint=8
            )

            print(f"webhooks: {args.endpoints} endpoints x {args.events} events")
            rate, bodies = await service_run(
                client,
                service_url,
                producer,
                receiver,
                fast=args.endpoints,
                slow=0,
                events=args.events,
            )
            print(f"  all answering: service {rate:.0f} deliveries/s", flush=True)
            plain = await baseline_run(
                receiver,
                bodies,
                fast=args.endpoints,
                slow=0,
                concurrency=args.concurrency,
                per_endpoint=args.per_endpoint,
            )
            print(
                f"  all answering:       service {rate:8.0f} deliveries/s   "
                f"plain httpx {plain:8.0f} POSTs/s   ratio {rate / plain:.2f}"
            )
            fast = args.endpoints - args.slow
            rate, bodies = await service_run(
                client,
                service_url,
                producer,
                receiver,
                fast=fast,
                slow=args.slow,
                events=args.events,
            )
            plain = await baseline_run(
                receiver,
                bodies,
                fast=fast,
                slow=args.slow,
                concurrency=args.concurrency,
                per_endpoint=args.per_endpoint,
            )
            print(
                f"  {args.slow} slow ({args.slow_seconds:g} s): service {rate:8.0f} deliveries/s   "
                f"plain httpx {plain:8.0f} POSTs/s   ratio {rate / plain:.2f}  "
                "(to the fast endpoints; one shared queue for the plain POSTs)"
            )
            before, after, pending = await memory_run(
                client,
                service_url,
                producer,
                runtime,
                endpoints=args.down_endpoints,
                events=args.down_events,
            )
            print(
                f"  {args.down_endpoints} endpoints down: {pending} deliveries waiting, "
                f"RSS {before:.0f} MB -> {after:.0f} MB ({after - before:+.0f} MB)"
            )
    finally:
        receiver.stop()
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--events", type=int, default=100, help="each to every endpoint")
    parser.add_argument("--slow", type=int, default=10, help="endpoints answering slowly")
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=400, help="in flight at once")
    parser.add_argument("--per-endpoint", type=int, default=8, help="in flight per endpoint")
    parser.add_argument("--down-endpoints", type=int, default=50)
    parser.add_argument("--down-events", type=int, default=400)
    args = parser.parse_args()
    with ExitStack() as stack:
        if "SOCIALCARE_KAFKA_BOOTSTRAP" not in os.environ:
            os.environ.update(
                stack.enter_context(running_infra("bench-webhooks", kafka=True, postgres=True))
            )
        asyncio.run(
            run(
                args,
                os.environ["SOCIALCARE_TEST_DATABASE_URL"],
                os.environ["SOCIALCARE_KAFKA_BOOTSTRAP"],
            )
        )


if __name__ == "__main__":
    main()
