"""Benchmark intent classification beside sentiment analysis of the same posts, on one core.

Prints texts/s and p50/p99 per text for:
- the classifier alone, with the language given (as routing gets it from ingest) and detected;
- sentiment analysis (services/ingest/enrichment) of the same texts, the baseline of this run;
- the API: routing under uvicorn in a subprocess pinned to one core, one post per request and
  batches of 1,000 (the client runs on the other core).

    uv run python bench/intents.py [--seconds 3] [--no-api]

The texts are the 784 posts of the shipped labelled set (Spanish and English).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402 - after the path tweak

from scripts.infra import free_port  # noqa: E402
from services.ingest.enrichment import analyse_sentiment  # noqa: E402
from services.ingest.enrichment import warm_up as warm_up_enrichment  # noqa: E402
from services.routing.intents import get_classifier  # noqa: E402
from services.routing.intents.dataset import LabelledPost, load_shipped  # noqa: E402
from shared.auth import Principal, PrincipalAuth  # noqa: E402

SECRET = "bench-intents-internal-secret"


def measure(
    posts: list[LabelledPost], call: Callable[[LabelledPost], object], seconds: float
) -> dict[str, float]:
    """Run `call` over the posts, round after round, for `seconds`; time each call.

    Wall-clock figures include time the core spent on other processes; the CPU figures (this
    thread's CPU time) are what one core really spends per text, which is what a shared
    machine can still measure."""
    for post in posts[:50]:
        call(post)  # warm caches
    wall: list[int] = []
    cpu: list[int] = []
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    deadline = time.perf_counter() + seconds
    started, cpu_started = clock(), cpu_clock()
    while time.perf_counter() < deadline:
        for post in posts:
            before, cpu_before = clock(), cpu_clock()
            call(post)
            cpu.append(cpu_clock() - cpu_before)
            wall.append(clock() - before)
    elapsed = (clock() - started) / 1e9
    cpu_elapsed = (cpu_clock() - cpu_started) / 1e9
    wall.sort()
    cpu.sort()
    return {
        "texts_per_s": len(wall) / elapsed,
        "p50_us": wall[len(wall) // 2] / 1000,
        "p99_us": wall[int(len(wall) * 0.99)] / 1000,
        "texts_per_cpu_s": len(cpu) / cpu_elapsed,
        "cpu_p50_us": cpu[len(cpu) // 2] / 1000,
        "cpu_p99_us": cpu[int(len(cpu) * 0.99)] / 1000,
        "count": len(wall),
    }


def show(label: str, figures: dict[str, float], baseline: dict[str, float] | None = None) -> None:
    ratio = ""
    if baseline is not None:
        ratio = f"  ({figures['texts_per_s'] / baseline['texts_per_s']:.1f}x sentiment's rate)"
    print(
        f"{label:<46} {figures['texts_per_s']:>9,.0f} texts/s  p50 {figures['p50_us']:7.1f} us"
        f"  p99 {figures['p99_us']:7.1f} us{ratio}"
    )
    if "texts_per_cpu_s" in figures:
        print(
            f"{'  CPU time only':<46} {figures['texts_per_cpu_s']:>9,.0f} texts/s  "
            f"p50 {figures['cpu_p50_us']:7.1f} us  p99 {figures['cpu_p99_us']:7.1f} us"
        )


async def api_figures(posts: list[LabelledPost], seconds: float) -> None:
    port = free_port()
    folder = tempfile.mkdtemp(prefix="bench-intents-")
    env = {
        **os.environ,
        "SOCIALCARE_ROUTING_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/routing.db",
        "SOCIALCARE_ROUTING_KAFKA_ENABLED": "false",
        "SOCIALCARE_ROUTING_INTERNAL_SECRET": SECRET,
        "SOCIALCARE_ROUTING_LOG_LEVEL": "warning",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "services.routing.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) > 1:
        command = ["taskset", "-c", str(sorted(os.sched_getaffinity(0))[0]), *command]
    server = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: ASYNC220 - started once
    principal = Principal(key_id="bench", scopes=frozenset({"cases:read"}))
    url = f"http://127.0.0.1:{port}"
    # Signed per request, bound to its method, path and body, as the gateway signs it.
    auth = PrincipalAuth(principal, SECRET, "routing")
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(300):
                try:
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            timings: list[int] = []
            deadline = time.perf_counter() + seconds
            started = time.perf_counter_ns()
            while time.perf_counter() < deadline:
                for post in posts:
                    before = time.perf_counter_ns()
                    response = await client.post(
                        f"{url}/v1/intents/classify",
                        json={"text": post.text, "lang": post.lang},
                        auth=auth,
                    )
                    timings.append(time.perf_counter_ns() - before)
                    assert response.status_code == 200, response.text
                    if time.perf_counter() >= deadline:
                        break
            elapsed = (time.perf_counter_ns() - started) / 1e9
            timings.sort()
            show(
                "API, one post per request (HTTP round trip)",
                {
                    "texts_per_s": len(timings) / elapsed,
                    "p50_us": timings[len(timings) // 2] / 1000,
                    "p99_us": timings[int(len(timings) * 0.99)] / 1000,
                },
            )
            batch = [{"text": post.text, "lang": post.lang} for post in (posts * 2)[:1000]]
            durations: list[float] = []
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline or len(durations) < 3:
                batch_started = time.perf_counter()
                response = await client.post(
                    f"{url}/v1/intents/classify/batch", json={"items": batch}, auth=auth
                )
                durations.append(time.perf_counter() - batch_started)
                assert response.status_code == 200, response.text
            median = statistics.median(durations)
            print(
                f"{'API, batches of 1,000 posts':<46} {1000 / median:>9,.0f} texts/s  "
                f"{median * 1000:.0f} ms per batch (median of {len(durations)})"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--no-api", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[-1]})  # one core (the API server gets the other)

    posts = load_shipped("train") + load_shipped("test")
    classifier = get_classifier()
    warm_up_enrichment()
    print(f"{len(posts)} posts (es + en), {args.seconds:g} s per figure, one core")
    sentiment = measure(posts, lambda post: analyse_sentiment(post.text, post.lang), args.seconds)
    show("sentiment analysis (baseline, same texts)", sentiment)
    given = measure(posts, lambda post: classifier.classify(post.text, post.lang), args.seconds)
    show("intent classifier, language given", given, sentiment)
    detected = measure(posts, lambda post: classifier.classify(post.text), args.seconds)
    show("intent classifier, language detected", detected, sentiment)
    wall_met = given["texts_per_s"] >= 5000 and given["p99_us"] < 1000
    cpu_met = given["texts_per_cpu_s"] >= 5000 and given["cpu_p99_us"] < 1000
    print(
        "target >= 5,000 texts/s and p99 < 1 ms (language given): "
        f"wall clock {'met' if wall_met else 'NOT met'}, CPU time {'met' if cpu_met else 'NOT met'}"
    )
    if not args.no_api:
        asyncio.run(api_figures(posts, args.seconds))


if __name__ == "__main__":
    main()
