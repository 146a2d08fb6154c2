"""Benchmark routing: how fast an interaction is decided, and how fast it is routed end to end.

Section "decision" (pure, one core): per interaction, classify the intent
(`services/routing/intents`), run the brand's rules (`services/routing/rules.decide`) and choose
the assignee (`services/routing/assignment.choose`), with 200 rules, 500 members and 20
departments; beside the classifier alone on the same posts (the baseline of this run). Prints
decisions/s and p50/p99 per decision for both and the ratio. Target: p99 < 5 ms.

Section "end_to_end" (Kafka + PostgreSQL): interactions/s through one routing intake consumer
(event in -> case stored and assigned -> events out through the outbox relay), beside a
consumer that only deserialises and commits the same records; both with their CPU time per
interaction (this process, and PostgreSQL's backends read from /proc when the server runs on
this host), which say more than the wall rate on a shared machine. Target: >= 2,000/s.
BENCH_ROUTING_INTERACTIONS sets how many (20,000). With `--pg-stats` it prints PostgreSQL's top
statements of the routed run by total time (pg_stat_statements: the server must preload it, which
`SOCIALCARE_PG_STAT_STATEMENTS=1 make bench-routing` asks scripts/infra.py to do).

    uv run python bench/routing.py [--seconds 3] [--section decision ...] [--strict] [--pg-stats]

Each section is a function in SECTIONS taking the parsed arguments; a section that needs
Kafka or PostgreSQL reads them from the environment `make bench` / `make bench-routing` set.
The texts are the 784 posts of the intents' shipped labelled set (Spanish and English).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.routing.assignment import (  # noqa: E402 - after the path tweak
    Availability,
    Candidate,
    by_department,
    choose,
)
from services.routing.intents import INTENTS, IntentPrediction, get_classifier  # noqa: E402
from services.routing.intents.dataset import LabelledPost, load_shipped  # noqa: E402
from services.routing.rules import (  # noqa: E402
    CRISIS_WORDS,
    DEFAULT_RESPONSIBILITIES,
    DEFAULT_RULES,
    RoutingFacts,
    RuleSpec,
    StoredRule,
    compile_rules,
    decide,
)
from shared.business_hours import BusinessCalendar  # noqa: E402

RULES = 200
MEMBERS = 500
DEPARTMENTS = 20
TARGET_P99_MS = 5.0
NOW = datetime(2026, 12, 1, 11, tzinfo=UTC)  # a Tuesday, inside most members' hours

CHANNELS = ["x", "instagram", "facebook", "whatsapp", "google_reviews", "tiktok"]
WORDS = [
    "pedido", "envío", "factura", "reembolso", "garantía", "tienda", "precio", "oferta",
    "order", "refund", "invoice", "shipping", "warranty", "store", "price", "discount",
    "cuenta", "contraseña", "account", "password", "cancelar", "cancel", "app", "web",
]  # fmt: skip
PATTERNS = [r"\b\d{6,}\b", r"pedido\s+n[ºo°]?\s*\d+", r"\border\s*#?\d+", r"https?://\S+"]


def departments() -> list[str]:
    names = ["customer_service", "sales", "pr", "corporate_comms", "hr", "legal", "marketing"]
    return names + [f"team_{index:02d}" for index in range(DEPARTMENTS - len(names))]


def synthetic_rules(rng: random.Random) -> list[StoredRule]:
    """The default rules plus a mix like a large brand's: per-channel and per-intent routing to
    its many teams, keyword lists, a few regular expressions, sentiment and reach."""
    depts = departments()
    specs: list[RuleSpec] = list(DEFAULT_RULES)
    while len(specs) < RULES:
        index = len(specs)
        # Every rule narrows on something (an intent, a channel and a language, or words), as
        # a brand's routing does; a few add sentiment, reach or a regular expression.
        conditions: dict[str, Any] = {}
        kind = rng.random()
        if kind < 0.5:
            conditions["intents"] = rng.sample([str(i) for i in INTENTS], rng.randint(1, 2))
        elif kind < 0.8:
            conditions["channels"] = rng.sample(CHANNELS, rng.randint(1, 2))
            conditions["languages"] = [rng.choice(["es", "en"])]
        else:
            conditions["keywords"] = rng.sample(WORDS, rng.randint(2, 8))
        if rng.random() < 0.3:
            conditions["account_ids"] = [f"acc-{rng.randint(0, 3)}"]
        if rng.random() < 0.2:
            conditions["keywords"] = rng.sample(WORDS, rng.randint(2, 8))
        if rng.random() < 0.05:
            conditions["pattern"] = rng.choice(PATTERNS)
        if rng.random() < 0.2:
            conditions["sentiment_labels"] = ["negative"]
        if rng.random() < 0.1:
            conditions["min_followers"] = rng.choice([1000, 5000, 50_000])
        if rng.random() < 0.03:
            conditions["keywords"] = list(CRISIS_WORDS)
        actions: dict[str, Any] = {"tags": [f"t{index % 37}"]}
        if rng.random() < 0.5:
            actions["department"] = rng.choice(depts)
        if rng.random() < 0.3:
            actions["priority"] = rng.choice(["urgent", "high", "normal", "low"])
        if rng.random() < 0.05:
            actions["skills_required"] = [f"skill_{rng.randint(0, 5)}"]
        specs.append(
            RuleSpec.model_validate(
                {
                    "name": f"rule {index}",
                    "position": 100 + index,
                    "stop": rng.random() < 0.02,
                    "conditions": conditions,
                    "actions": actions,
                }
            )
        )
    return [StoredRule(f"rule-{index:03d}", 1, spec) for index, spec in enumerate(specs)]


def synthetic_members(rng: random.Random) -> list[Candidate]:
    depts = departments()
    zones = ["Europe/Madrid", "America/Mexico_City", "America/Bogota", "UTC"]
    calendars = [
        BusinessCalendar(zone, {day: [("00:00", "24:00")] for day in range(7)}) for zone in zones
    ] + [BusinessCalendar(zone, {day: [("08:00", "20:00")] for day in range(5)}) for zone in zones]
    members = []
    for index in range(MEMBERS):
        home = depts[index % DEPARTMENTS]
        extra = {rng.choice(depts)} if rng.random() < 0.3 else set()
        capacity = rng.randint(3, 12)
        members.append(
            Candidate(
                member_id=f"m{index:03d}",
                departments=frozenset({home, *extra}),
                languages=frozenset(rng.choice([["es"], ["en"], ["es", "en"], ["es", "en"]])),
                skills=frozenset(f"skill_{s}" for s in rng.sample(range(6), rng.randint(0, 4))),
                account_ids=frozenset(f"acc-{a}" for a in rng.sample(range(4), rng.randint(2, 4))),
                open_cases=rng.randint(0, capacity - 1) if rng.random() < 0.9 else capacity,
                capacity=capacity,
                availability=rng.choices(list(Availability), weights=[8, 1, 1])[0],
                calendar=rng.choice([None, *calendars]),
                last_assigned_at=NOW - timedelta(seconds=rng.randint(0, 86400)),
            )
        )
    return members


def measure(
    posts: list[LabelledPost], call: Callable[[int, LabelledPost], object], seconds: float
) -> dict[str, float]:
    """Run `call` over the posts, round after round, for `seconds`; time each call (wall and
    this thread's CPU time: on a shared machine the CPU figures are what one decision costs)."""
    for index, post in enumerate(posts[:50]):
        call(index, post)  # warm caches
    wall: list[int] = []
    cpu: list[int] = []
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    deadline = time.perf_counter() + seconds
    started, cpu_started = clock(), cpu_clock()
    while time.perf_counter() < deadline:
        for index, post in enumerate(posts):
            before, cpu_before = clock(), cpu_clock()
            call(index, post)
            cpu.append(cpu_clock() - cpu_before)
            wall.append(clock() - before)
    elapsed = (clock() - started) / 1e9
    cpu_elapsed = (cpu_clock() - cpu_started) / 1e9
    wall.sort()
    cpu.sort()
    return {
        "per_s": len(wall) / elapsed,
        "p50_us": wall[len(wall) // 2] / 1000,
        "p99_us": wall[int(len(wall) * 0.99)] / 1000,
        "per_cpu_s": len(cpu) / cpu_elapsed,
        "cpu_p50_us": cpu[len(cpu) // 2] / 1000,
        "cpu_p99_us": cpu[int(len(cpu) * 0.99)] / 1000,
    }


def show(label: str, figures: dict[str, float], baseline: dict[str, float] | None = None) -> None:
    ratio = ""
    if baseline is not None:
        ratio = f"  ({figures['per_s'] / baseline['per_s']:.2f}x the baseline's rate)"
    print(
        f"{label:<44} {figures['per_s']:>9,.0f} /s  p50 {figures['p50_us']:7.1f} us"
        f"  p99 {figures['p99_us']:7.1f} us{ratio}"
    )
    print(
        f"{'  CPU time only':<44} {figures['per_cpu_s']:>9,.0f} /s  "
        f"p50 {figures['cpu_p50_us']:7.1f} us  p99 {figures['cpu_p99_us']:7.1f} us"
    )


def on_one_core(
    section: Callable[[argparse.Namespace], bool],
) -> Callable[[argparse.Namespace], bool]:
    """Run `section` pinned to one core (the last), then give the process its cores back."""

    def pinned(args: argparse.Namespace) -> bool:
        if not hasattr(os, "sched_setaffinity"):
            return section(args)
        cores = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {max(cores)})
        try:
            return section(args)
        finally:
            os.sched_setaffinity(0, cores)

    return pinned


@on_one_core
def decision_section(args: argparse.Namespace) -> bool:
    """Classify + rules + assignee choice beside classify alone. True when the target is met."""
    rng = random.Random(12)
    posts = load_shipped("train") + load_shipped("test")
    classifier = get_classifier()
    compile_started = time.perf_counter()
    ruleset = compile_rules(synthetic_rules(rng))
    compile_ms = (time.perf_counter() - compile_started) * 1000
    members = synthetic_members(rng)
    team = by_department(members)
    responsibilities = dict(DEFAULT_RESPONSIBILITIES)
    # Per post, the facts ingest would have given: channel, account, author, sentiment.
    context = [
        (
            rng.choice(CHANNELS),
            f"acc-{rng.randint(0, 3)}",
            rng.choice([None, 10, 300, 2000, 20_000, 200_000]),
            rng.choice(["negative", "neutral", "positive"]),
        )
        for _ in posts
    ]
    print(
        f"== decision: {len(posts)} posts (es + en), {len(ruleset.rules)} rules (compiled in "
        f"{compile_ms:.0f} ms), {len(members)} members, {DEPARTMENTS} departments; "
        f"{args.seconds:g} s per figure, one core"
    )
    outcome = {"assigned": 0, "queued": 0, "closed": 0}

    def classify_only(_index: int, post: LabelledPost) -> object:
        return classifier.classify(post.text, post.lang)

    predictions = [classifier.classify(post.text, post.lang) for post in posts]

    def route(index: int, post: LabelledPost) -> object:
        return rules_and_choice(index, post, classifier.classify(post.text, post.lang))

    def without_classifier(index: int, post: LabelledPost) -> object:
        return rules_and_choice(index, post, predictions[index])

    def explained(index: int, post: LabelledPost) -> object:
        prediction = predictions[index]
        channel, account, followers, label = context[index]
        facts = RoutingFacts(
            brand_id="brand",
            channel=channel,
            account_id=account,
            lang=prediction.lang,
            intent=prediction.intent.value,
            intent_confidence=prediction.confidence,
            sentiment_label=label,
            text=post.text,
            author_followers=followers,
            now=NOW,
        )
        return decide(ruleset, facts, responsibilities, explain=True)

    def rules_and_choice(index: int, post: LabelledPost, prediction: IntentPrediction) -> object:
        channel, account, followers, label = context[index]
        facts = RoutingFacts(
            brand_id="brand",
            channel=channel,
            account_id=account,
            lang=prediction.lang,
            intent=prediction.intent.value,
            intent_confidence=prediction.confidence,
            sentiment_label=label,
            sentiment_score=-0.5 if label == "negative" else 0.3,
            text=post.text,
            author_followers=followers,
            author_verified=followers is not None and followers > 100_000,
            now=NOW,
        )
        decision = decide(ruleset, facts, responsibilities, explain=False)
        if decision.close or decision.department is None:
            outcome["closed"] += 1
            return decision
        chosen = choose(
            team.get(decision.department, ()),
            decision.department,
            account,
            prediction.lang,
            decision.skills_required,
            NOW,
        )
        outcome["assigned" if chosen else "queued"] += 1
        return chosen

    baseline = measure(posts, classify_only, args.seconds)
    show("intent classifier only (baseline)", baseline)
    routed = measure(posts, route, args.seconds)
    show("classify + 200 rules + assignee choice", routed, baseline)
    total = sum(outcome.values()) or 1
    print(
        "  outcome: " + ", ".join(f"{name} {count / total:.0%}" for name, count in outcome.items())
    )
    show(
        "200 rules + assignee choice (intent known)",
        measure(posts, without_classifier, args.seconds),
    )
    show("200 rules with explanations (rules/test)", measure(posts, explained, args.seconds))
    met = routed["cpu_p99_us"] < TARGET_P99_MS * 1000
    print(
        f"target p99 < {TARGET_P99_MS:g} ms per decision: {'met' if met else 'NOT met'} "
        f"(CPU p99 {routed['cpu_p99_us'] / 1000:.2f} ms, wall p99 {routed['p99_us'] / 1000:.2f} ms)"
    )
    return met


# ------------------------------------------------------------------ end to end (the consumer)

E2E_TARGET = 2000.0  # interactions/s


def end_to_end_section(args: argparse.Namespace) -> bool:
    """Interactions/s through one routing intake consumer with PostgreSQL: each event in →
    its case stored (intent, rules, SLA deadlines) and assigned → its events published through
    the outbox; beside a consumer of the same records that only deserialises and commits."""
    import asyncio

    bootstrap = os.environ.get("SOCIALCARE_KAFKA_BOOTSTRAP")
    database = os.environ.get("SOCIALCARE_TEST_DATABASE_URL")
    if not bootstrap or not database:
        print("end_to_end: needs SOCIALCARE_KAFKA_BOOTSTRAP and SOCIALCARE_TEST_DATABASE_URL")
        print("           (make bench-routing starts a broker and PostgreSQL for it)")
        return False
    count = int(os.environ.get("BENCH_ROUTING_INTERACTIONS", "20000"))
    routed, baseline = asyncio.run(_end_to_end(bootstrap, database, count, args.pg_stats))
    ratio = routed.per_s / baseline.per_s if baseline.per_s else 0.0
    print(f"end to end, {count:,} interactions through one routing consumer (PostgreSQL):")
    print(f"  routed (case stored + assigned + events out): {routed.describe()}")
    print(f"  baseline (deserialise + commit only):         {baseline.describe()}")
    print(f"  ratio routed / baseline: {ratio:.2f} (wall)", end="")
    if routed.cpu_ms and baseline.cpu_ms:
        print(f", {baseline.cpu_ms / routed.cpu_ms:.2f} (CPU time)")
    else:
        print()
    print(
        "  (wall figures depend on what else the host runs; CPU time is this process's and "
        "the PostgreSQL backends' per interaction)"
    )
    met = routed.per_s >= E2E_TARGET
    print(f"target >= {E2E_TARGET:,.0f} interactions/s end to end: {'met' if met else 'NOT met'}")
    return met


@dataclass(frozen=True)
class Throughput:
    """One end-to-end run: interactions/s on the wall clock, and the CPU time it cost per
    interaction in this process and in PostgreSQL's backends (None where /proc can't tell)."""

    per_s: float
    process_ms: float
    database_ms: float | None
    # All of the server's processes: the backends, autovacuum's workers (which come and go, so
    # are read through the postmaster's reaped children), the WAL writer, the checkpointer.
    server_ms: float | None = None
    # Of `process_ms`, what the intake's intent worker process used (None: no worker).
    worker_ms: float | None = None

    @property
    def cpu_ms(self) -> float:
        return self.process_ms + (self.database_ms or 0.0)

    def describe(self) -> str:
        database = f"{self.database_ms:.3f}" if self.database_ms is not None else "n/a"
        server = ""
        if self.server_ms is not None:
            server = f"\n{'':50}(PostgreSQL with autovacuum and its own processes: "
            server += f"{self.server_ms:.3f} ms)"
        worker = ""
        if self.worker_ms is not None:
            worker = f"\n{'':50}(of the CPU here, in the intent worker: {self.worker_ms:.3f} ms)"
        return (
            f"{self.per_s:10,.0f} interactions/s; CPU {self.process_ms:.3f} ms here + "
            f"{database} ms PostgreSQL per interaction (= {1000 / self.cpu_ms:,.0f} per CPU-s)"
            f"{server}{worker}"
        )


def _proc_stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _process_cpu(pid: int | None) -> float | None:
    """CPU seconds process `pid` has used (None: no such process)."""
    fields = _proc_stat(pid) if pid is not None else None
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_cpu(backend_pid: int) -> float | None:
    """CPU seconds the whole PostgreSQL server has used but `backend_pid` (the watching
    connection): the postmaster with the children it has reaped, and those still running."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = _proc_stat(backend_pid)
    if fields is None:
        return None
    postmaster = int(fields[1])
    own = _proc_stat(postmaster)
    if own is None:
        return None
    total = sum(int(value) for value in own[11:15]) / ticks
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == backend_pid:
            continue
        child = _proc_stat(int(entry.name))
        if child is not None and int(child[1]) == postmaster:
            total += (int(child[11]) + int(child[12])) / ticks
    return total


def _backend_cpu(pids: list[int]) -> dict[int, float] | None:
    """CPU seconds each PostgreSQL backend has used (the server runs on this host under make
    bench; elsewhere /proc does not hold its processes and this is None)."""
    found: dict[int, float] = {}
    for pid in pids:
        cpu = _process_cpu(pid)
        if cpu is not None:
            found[pid] = cpu
    return found if found else None


STATEMENTS_QUERY = """
SELECT calls, total_exec_time, rows, shared_blks_hit + shared_blks_read AS blocks, query
FROM public.pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY total_exec_time DESC
LIMIT :top
"""


def show_statements(rows: list[Any], count: int) -> None:
    """PostgreSQL's heaviest statements of the routed run: total time, its share per
    interaction, and what one call costs (time, rows, buffers touched)."""
    print(f"  PostgreSQL statements by total time (pg_stat_statements, {count:,} interactions):")
    print(
        f"  {'calls':>7} {'total ms':>9} {'us/inter.':>9} {'ms/call':>8} {'rows/call':>9} "
        f"{'blocks/call':>11}  statement"
    )
    for calls, total, rows_, blocks, query in rows:
        statement = " ".join(str(query).split())
        print(
            f"  {calls:>7,} {total:>9,.0f} {total * 1000 / count:>9.1f} {total / calls:>8.3f} "
            f"{rows_ / calls:>9.1f} {blocks / calls:>11.1f}  {statement[:110]}"
        )


async def _end_to_end(
    bootstrap: str, database_url: str, count: int, pg_stats: bool = False
) -> tuple[Throughput, Throughput]:
    import asyncio
    import uuid

    from aiokafka import AIOKafkaConsumer
    from prometheus_client import REGISTRY
    from sqlalchemy import func, select, text

    from scripts.infra import create_database
    from services.routing.cases.models import Case
    from services.routing.config import RoutingSettings
    from services.routing.handlers import build_intake, intake_handlers
    from services.routing.models import Department, Member, MemberDepartment, bus_tables
    from services.routing.team.repository import bump_config_version
    from services.routing.team.service import ensure_brand
    from shared.bus.admin import ensure_topics
    from shared.bus.consumer import ConsumerRunner
    from shared.bus.outbox import OutboxRelay
    from shared.bus.producer import EventProducer
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
    from shared.events.topics import all_topics
    from shared.migrations import upgrade

    suffix = uuid.uuid4().hex[:8]
    topic = f"bench.routing.{suffix}"
    await ensure_topics(bootstrap, [*all_topics(), topic, f"{topic}.dlq"], partitions=3)
    database = await create_database(database_url)
    await asyncio.to_thread(upgrade, "routing", database)
    engine = create_engine(database, schema="routing")
    sessions = session_factory(engine)
    brand_id = f"bench-{suffix}"
    async with sessions() as session, session.begin():
        await ensure_brand(session, brand_id)
        departments = {
            row.key: row.id
            for row in await session.scalars(
                select(Department).where(Department.brand_id == brand_id)
            )
        }
        for index, key in enumerate(sorted(departments) * 4):
            member_id = str(uuid.uuid4())
            session.add(
                Member(
                    id=member_id,
                    brand_id=brand_id,
                    name=f"member {index}",
                    email=f"m{index}@{brand_id}.example",
                    role="agent",
                    skills=[],
                    languages=["es", "en"],
                    capacity=100_000,
                    timezone="UTC",
                    weekly_hours={},
                    holidays=[],
                    availability="available",
                    open_cases=0,
                )
            )
            await session.flush()
            session.add(MemberDepartment(member_id=member_id, department_id=departments[key]))
        await bump_config_version(session, brand_id)

    posts = load_shipped("train")
    now = datetime.now(UTC)
    producer = EventProducer(bootstrap, client_id="bench-routing")
    await producer.start()
    envelopes = []
    for index in range(count):
        post = posts[index % len(posts)]
        item = Interaction(
            id=str(uuid.uuid4()),
            brand_id=brand_id,
            channel=Channel.facebook,
            kind=InteractionKind.comment,
            external_id=f"c-{index}",
            thread_external_id=f"t-{index}",
            author=Author(external_id=f"u-{index % 997}", followers=index % 5000),
            text=post.text,
            lang=post.lang,
            sentiment=Sentiment(label=SentimentLabel.negative, score=-0.4),
            created_at=now,
            received_at=now,
        )
        envelopes.append(
            Envelope(type="interaction.received", source="bench", key=item.thread_key, data=item)
        )
    for start in range(0, count, 1000):
        # Onto the benchmark's own topic, not interaction.received's: encoded records.
        await producer.send_many(
            [(topic, *envelope.to_kafka()) for envelope in envelopes[start : start + 1000]]
        )

    # Baseline: the same records, deserialised and committed, nothing else.
    baseline_consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-baseline-{suffix}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
    )
    await baseline_consumer.start()
    seen = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    while seen < count:
        batches = await baseline_consumer.getmany(timeout_ms=200, max_records=500)
        for records in batches.values():
            for record in records:
                Envelope.from_kafka(record.key, record.value, list(record.headers))
                seen += 1
        if batches:
            await baseline_consumer.commit()
    baseline = Throughput(
        count / (time.perf_counter() - started),
        (time.process_time() - cpu_started) * 1000 / count,
        0.0,
    )
    await baseline_consumer.stop()

    settings = RoutingSettings(database_url=database, kafka_bootstrap=bootstrap)
    intake = build_intake(settings)
    intake.classifier()  # the model loads once at start-up, before the first poll
    worker_pid = None
    if intake.worker is not None:
        # The service starts its intent worker on the first large poll; here before the clock.
        assert intake.worker.wait_ready(120), "the intent worker did not start"
        worker_pid = intake.worker.pid
    from shared.heap import tune_interpreter

    tune_interpreter()  # as the service does once start-up is done (services/routing/main.py)
    relay = OutboxRelay(
        service=f"routing-bench-{suffix}",
        sessions=sessions,
        tables=bus_tables,
        producer=producer,
        bootstrap=bootstrap,
        batch_size=settings.outbox_batch_size,  # as the service's relay (shared/runtime.py)
        poll_interval=settings.outbox_poll_interval_seconds,
    )
    runner = ConsumerRunner(
        name=f"bench-routing-{suffix}",
        bootstrap=bootstrap,
        topics=[topic],
        group_id=f"bench-routing-{suffix}",
        handlers={},
        batch_handlers=intake_handlers(intake),
        sessions=sessions,
        tables=bus_tables,
        producer=producer,
        max_batch=settings.case_intake_batch,
        prepare=intake.prepare,
        on_committed=relay.notify,
    )
    outbox = bus_tables.outbox

    # The benchmark's own queries run on one connection held aside, whose backend's CPU time
    # is left out of the figures: they measure the consumer's and the relay's work, not the
    # watching. Progress is read from this process's counters every 0.1 s (a count over the
    # growing tables each tick cost more as the run went on, and its snapshots kept the dead
    # rows of the outbox from being pruned); the tables are counted once the counters say done.
    monitor = await engine.connect()
    monitor_pid = await monitor.scalar(text("SELECT pg_backend_pid()"))

    async def backends() -> dict[int, float] | None:
        pids = await monitor.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        )
        await monitor.commit()
        return _backend_cpu([pid for pid in pids if pid != monitor_pid])

    if pg_stats:
        # In the bench's database only; the totals start with the routed run.
        await monitor.execute(
            text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA public")
        )
        await monitor.execute(text("SELECT public.pg_stat_statements_reset()"))
        await monitor.commit()

    def handled() -> float:
        value = REGISTRY.get_sample_value(
            "socialcare_events_handled_total",
            {"consumer": runner.name, "type": "interaction.received", "outcome": "handled"},
        )
        return value or 0.0

    def relayed() -> float:
        # Events out: at least one per interaction (case.opened and what follows it).
        value = REGISTRY.get_sample_value(
            "socialcare_outbox_relayed_total", {"service": relay.service}
        )
        return value or 0.0

    database_before = await backends() or {}
    server_before = _server_cpu(monitor_pid)
    worker_before = _process_cpu(worker_pid)
    started, cpu_started = time.perf_counter(), time.process_time()
    tasks = [asyncio.create_task(runner.run()), asyncio.create_task(relay.run())]
    try:
        while True:
            await asyncio.sleep(0.1)
            if time.perf_counter() - started > 600:
                raise TimeoutError(f"{handled()} of {count} interactions after 600 s")
            if handled() < count or relayed() < handled():
                continue
            stored = await monitor.scalar(select(func.count()).select_from(Case))
            pending = await monitor.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
            unassigned = await monitor.scalar(
                select(func.count())
                .select_from(Case)
                .where(Case.status == "open", Case.assignee_id.is_(None))
            )
            await monitor.commit()
            if stored == count and pending == 0 and unassigned == 0:
                break
        per_s = count / (time.perf_counter() - started)
        process_ms = (time.process_time() - cpu_started) * 1000 / count
        worker_after = _process_cpu(worker_pid)
        worker_ms = None
        if worker_before is not None and worker_after is not None:
            worker_ms = (worker_after - worker_before) * 1000 / count
            process_ms += worker_ms  # the consumer's work, in its second process
        database_after = await backends()
        server_after = _server_cpu(monitor_pid)
        server_ms = None
        if server_before is not None and server_after is not None:
            server_ms = (server_after - server_before) * 1000 / count
        database_ms = None
        if database_after is not None:
            used = sum(cpu - database_before.get(pid, 0.0) for pid, cpu in database_after.items())
            database_ms = used * 1000 / count
        routed = Throughput(per_s, process_ms, database_ms, server_ms, worker_ms)
        if pg_stats:
            statements = (await monitor.execute(text(STATEMENTS_QUERY), {"top": 15})).all()
            await monitor.commit()
            show_statements(list(statements), count)
    finally:
        runner.stop()
        relay.stop()
        await asyncio.wait(tasks, timeout=20)
        await producer.stop()
        intake.close()
        await monitor.close()
        await engine.dispose()
    return routed, baseline


# Sections in the order they run.
SECTIONS: dict[str, Callable[[argparse.Namespace], bool]] = {
    "decision": decision_section,
    "end_to_end": end_to_end_section,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument(
        "--section",
        action="append",
        choices=sorted(SECTIONS),
        help="run only these sections (repeatable); all by default",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a section misses its target"
    )
    parser.add_argument(
        "--pg-stats",
        action="store_true",
        help="end_to_end: print PostgreSQL's top statements (needs pg_stat_statements preloaded)",
    )
    args = parser.parse_args()
    results = [SECTIONS[name](args) for name in (args.section or list(SECTIONS))]
    if args.strict and not all(results):
        sys.exit(1)


if __name__ == "__main__":
    main()
