"""Benchmark replies: replies/s from `POST /v1/cases/{id}/replies` to `reply.sent`, and p50/p99
of the POST (which includes the guideline check), beside the guideline check API alone in the
same run.

Routing, guidelines and ingest are served for real (uvicorn, PostgreSQL, Kafka), each in a
process of its own as deployed, with ingest sending to a local platform
server (the tests' stand-in for the Graph API). The baseline is `POST /v1/guidelines/check`
with the same text and context, at the same
concurrency, against the same guidelines server, measured before the replies. A reply here
needs no approval: POST → check → stored → `send.requested` → ingest → platform →
`send.completed` → routing marks it sent and publishes `reply.sent`.

    make bench-replies                     # starts a broker and PostgreSQL for it
    uv run python bench/replies.py [--replies 400] [--concurrency 8] [--strict]

Target: p99 of the POST < 2x the check's p99. On a machine shared with other work the absolute
figures move a lot; the ratio, measured side by side, is what to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402 - after the path tweak
import uvicorn  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from scripts.infra import (  # noqa: E402
    create_database,
    free_port,
    running_infra,
    wait_for_port,
)
from shared.auth import Principal, PrincipalAuth  # noqa: E402

TARGET_RATIO = 2.0
SECRET = "bench-replies-internal-secret"
PAGE_ID = "448"
TEXT = (
    "Buenos días, Marta. Disculpe las molestias: escríbanos por mensaje privado con su número "
    "de pedido y lo revisamos hoy mismo."
)
INBOUND = "Llevo dos semanas esperando mi pedido y nadie me responde."
CONTEXT = {"inbound_text": INBOUND, "inbound_sentiment": "negative", "intent": "complaint"}


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(1200):
            if server.started:
                break
            if task.done():
                task.result()
                raise RuntimeError("server exited during start-up")
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


def key(service: str, *scopes: str) -> PrincipalAuth:
    return PrincipalAuth(
        Principal(key_id="bench-replies", scopes=frozenset(scopes)), SECRET, service
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def timed(
    count: int, concurrency: int, call: Callable[[int], Awaitable[None]]
) -> list[float]:
    """Run `call(i)` for i < count, `concurrency` at a time; each call's seconds."""
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)

    async def worker() -> None:
        while not queue.empty():
            index = queue.get_nowait()
            started = time.perf_counter()
            await call(index)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def seed_routing(database: str, brand_id: str, connection_id: str, cases: int) -> list[str]:
    """The brand's team (one member with a reply grant) and `cases` open cases."""
    from services.routing.cases.models import Case
    from services.routing.config import RoutingSettings
    from services.routing.handlers import build_intake
    from services.routing.models import AccessGrant, Account, Department, Member, MemberDepartment
    from services.routing.team.repository import bump_config_version
    from services.routing.team.service import ensure_brand
    from shared.db import create_engine, session_factory
    from shared.events.envelope import Envelope
    from shared.events.interactions import (
        Author,
        Channel,
        Interaction,
        InteractionKind,
        Sentiment,
        SentimentLabel,
    )

    engine = create_engine(database, schema="routing")
    sessions = session_factory(engine)
    member_id = str(uuid.uuid4())
    async with sessions() as session, session.begin():
        await ensure_brand(session, brand_id)
        department = await session.scalar(
            select(Department).where(
                Department.brand_id == brand_id, Department.key == "customer_service"
            )
        )
        assert department is not None
        account_id = str(uuid.uuid4())
        session.add(
            Account(
                id=account_id,
                brand_id=brand_id,
                platform="meta",
                channel="facebook",
                external_account_id=PAGE_ID,
                connection_id=connection_id,
                name="Página",
                enabled=True,
            )
        )
        session.add(
            Member(
                id=member_id,
                brand_id=brand_id,
                name="Ana",
                email=f"ana@{brand_id}.example",
                role="agent",
                skills=[],
                languages=["es"],
                capacity=1_000_000,
                timezone="UTC",
                weekly_hours={},
                holidays=[],
                availability="available",
                open_cases=0,
            )
        )
        await session.flush()
        session.add(MemberDepartment(member_id=member_id, department_id=department.id))
        session.add(
            AccessGrant(member_id=member_id, account_id=account_id, can_read=True, can_reply=True)
        )
        await bump_config_version(session, brand_id)
    intake = build_intake(RoutingSettings(database_url=database))
    now = datetime.now(UTC)
    envelopes = []
    for index in range(cases):
        item = Interaction(
            id=str(uuid.uuid4()),
            brand_id=brand_id,
            connection_id=connection_id,
            channel=Channel.facebook,
            kind=InteractionKind.comment,
            external_id=f"{PAGE_ID}_{index}_1",
            thread_external_id=f"{PAGE_ID}_{index}",
            author=Author(external_id=f"u-{index}", display_name="Marta", followers=120),
            text=INBOUND,
            lang="es",
            sentiment=Sentiment(label=SentimentLabel.negative, score=-0.6),
            created_at=now,
            received_at=now,
        )
        envelopes.append(
            Envelope(type="interaction.received", source="bench", key=item.thread_key, data=item)
        )
    async with sessions() as session, session.begin():
        await intake.take_in(session, envelopes)
    async with sessions() as session:
        case_ids = list(
            (await session.scalars(select(Case.id).where(Case.brand_id == brand_id))).all()
        )
    await engine.dispose()
    return [*case_ids, member_id]


async def wait_ready(client: httpx.AsyncClient, url: str) -> None:
    """Until the service's database and Kafka are reachable (its consumers have started)."""
    for _ in range(600):
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get(f"{url}/readyz")).status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} never became ready")


async def run(args: argparse.Namespace, database_url: str, bootstrap: str) -> bool:
    from shared.bus.admin import ensure_topics
    from shared.events.topics import all_topics
    from shared.migrations import upgrade
    from tests.ingest.sends_platform import GRAPH_VERSION, FakePlatforms

    await ensure_topics(bootstrap, all_topics(), partitions=3)
    databases: dict[str, str] = {}
    for service in ("routing", "guidelines", "ingest"):
        databases[service] = await create_database(database_url)
        await asyncio.to_thread(upgrade, service, databases[service])
    ports = {service: free_port() for service in ("routing", "guidelines", "ingest")}
    urls = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
    shared = {
        "SOCIALCARE_KAFKA_BOOTSTRAP": bootstrap,
        "SOCIALCARE_INTERNAL_SECRET": SECRET,
        "SOCIALCARE_LOG_LEVEL": "WARNING",
        "SOCIALCARE_OUTBOX_POLL_INTERVAL_SECONDS": "0.05",
    }
    fake = FakePlatforms(page_id=PAGE_ID)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        async with serve(fake.app) as platform_url:
            environments = {
                "guidelines": {"SOCIALCARE_GUIDELINES_DATABASE_URL": databases["guidelines"]},
                "ingest": {
                    "SOCIALCARE_INGEST_DATABASE_URL": databases["ingest"],
                    "SOCIALCARE_INGEST_SEND_META_GRAPH_URL": f"{platform_url}/{GRAPH_VERSION}",
                    "SOCIALCARE_INGEST_SEND_X_API_URL": platform_url,
                    "SOCIALCARE_INGEST_SEND_POLL_INTERVAL_SECONDS": "0.05",
                    "SOCIALCARE_INGEST_SEND_CONCURRENCY": "32",
                },
                "routing": {
                    "SOCIALCARE_ROUTING_DATABASE_URL": databases["routing"],
                    "SOCIALCARE_ROUTING_GUIDELINES_URL": urls["guidelines"],
                    "SOCIALCARE_ROUTING_CASE_SCHEDULER_ENABLED": "false",
                },
            }
            for service in ("guidelines", "ingest", "routing"):
                processes.append(
                    await asyncio.to_thread(
                        start_service, service, ports[service], {**shared, **environments[service]}
                    )
                )
            return await measure(args, databases, urls, fake)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            await asyncio.to_thread(process.wait, 30)


def start_service(service: str, port: int, environment: dict[str, str]) -> subprocess.Popen[bytes]:
    """A service in a process of its own, as deployed (each has its own interpreter)."""
    command = [sys.executable, "-m", "uvicorn", f"services.{service}.main:create_app"]
    command += ["--factory", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **environment})
    wait_for_port(port, 180, process)
    return process


async def measure(
    args: argparse.Namespace, databases: dict[str, str], urls: dict[str, str], fake: Any
) -> bool:
    from services.routing.replies.models import Reply
    from shared.db import create_engine

    guidelines_url, ingest_url, routing_url = urls["guidelines"], urls["ingest"], urls["routing"]
    brand_id = f"bench-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(timeout=60) as client:
        guideline = {"packs": ["standards", "tone_style", "legal", "hr"], "formality": "usted"}
        response = await client.put(
            f"{guidelines_url}/v1/guidelines/{brand_id}",
            json=guideline,
            auth=key("guidelines", "guidelines:write"),
        )
        assert response.status_code == 201, response.text
        response = await client.post(
            f"{ingest_url}/v1/connections",
            json={
                "brand_id": brand_id,
                "platform": "meta",
                "name": "bench",
                "account_ids": [PAGE_ID],
                "secrets": {
                    "app_secret": "bench-app-secret",
                    "verify_token": "verify",
                    "page_access_token": "EAAB-bench-page-token",
                    "page_id": PAGE_ID,
                },
            },
            auth=key("ingest", "team:write"),
        )
        assert response.status_code == 201, response.text
        connection_id = response.json()["id"]
        *case_ids, member_id = await seed_routing(
            databases["routing"], brand_id, connection_id, args.replies
        )
        await wait_ready(client, routing_url)
        checker = key("guidelines", "replies:write")

        async def check(index: int) -> None:
            answer = await client.post(
                f"{guidelines_url}/v1/guidelines/check",
                json={
                    "brand_id": brand_id,
                    "channel": "facebook",
                    "lang": "es",
                    "text": TEXT,
                    "context": CONTEXT,
                },
                auth=checker,
            )
            assert answer.status_code == 200, answer.text

        writer = key("routing", "replies:write")

        async def post(index: int) -> None:
            answer = await client.post(
                f"{routing_url}/v1/cases/{case_ids[index]}/replies",
                json={"text": TEXT, "author_member_id": member_id},
                auth=writer,
            )
            assert answer.status_code == 201, answer.text

        await timed(min(50, args.replies), args.concurrency, check)  # warm up
        checks = await timed(args.replies, args.concurrency, check)
        started = time.perf_counter()
        posts = await timed(args.replies, args.concurrency, post)
        posted = time.perf_counter() - started
        engine = create_engine(databases["routing"], schema="routing")
        sent = 0
        try:
            deadline = time.perf_counter() + 300
            while time.perf_counter() < deadline:
                async with engine.connect() as connection:
                    sent = int(
                        await connection.scalar(
                            select(func.count())
                            .select_from(Reply)
                            .where(Reply.brand_id == brand_id, Reply.status == "sent")
                        )
                        or 0
                    )
                if sent >= args.replies:
                    break
                await asyncio.sleep(0.05)
        finally:
            await engine.dispose()
        elapsed = time.perf_counter() - started
    platform_posts = len(fake.calls("POST"))
    check_p50, check_p99 = percentile(checks, 0.5) * 1000, percentile(checks, 0.99) * 1000
    post_p50, post_p99 = percentile(posts, 0.5) * 1000, percentile(posts, 0.99) * 1000
    ratio = post_p99 / check_p99 if check_p99 else float("inf")
    print(
        f"replies: {args.replies} at concurrency {args.concurrency}; routing, guidelines and "
        "ingest each in its own process, the platform stand-in and the client in this one "
        "(shared machine: absolute figures vary)"
    )
    print(f"  POST /v1/cases/{{id}}/replies   p50 {post_p50:7.1f} ms   p99 {post_p99:7.1f} ms")
    print(f"  POST /v1/guidelines/check      p50 {check_p50:7.1f} ms   p99 {check_p99:7.1f} ms")
    print(
        f"  mean POST {statistics.fmean(posts) * 1000:.1f} ms, mean check "
        f"{statistics.fmean(checks) * 1000:.1f} ms"
    )
    print(f"  ratio POST p99 / check p99: {ratio:.2f} (target < {TARGET_RATIO:.1f})")
    print(
        f"  POST → reply.sent: {sent}/{args.replies} sent in {elapsed:.2f} s = "
        f"{sent / elapsed:.1f} replies/s (POSTs alone: {args.replies / posted:.1f}/s); "
        f"{platform_posts} platform requests"
    )
    met = ratio < TARGET_RATIO and sent == args.replies and platform_posts == args.replies
    print(f"target POST p99 < {TARGET_RATIO:.0f}x check p99: {'met' if met else 'NOT met'}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--replies", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    with ExitStack() as stack:
        if "SOCIALCARE_KAFKA_BOOTSTRAP" not in os.environ:
            os.environ.update(
                stack.enter_context(running_infra("bench-replies", kafka=True, postgres=True))
            )
        met = asyncio.run(
            run(
                args,
                os.environ["SOCIALCARE_TEST_DATABASE_URL"],
                os.environ["SOCIALCARE_KAFKA_BOOTSTRAP"],
            )
        )
    if args.strict and not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
