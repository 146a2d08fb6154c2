"""The intent worker: the intake's polls classified in a process of its own, with the very
predictions the consumer's own classifier gives, and the consumer taking the work back when
the worker is not there (not started yet, dead, stopped)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from services.routing.config import RoutingSettings
from services.routing.handlers import build_intake
from services.routing.intents import get_classifier
from services.routing.intents.worker import ClassifierWorker, Item
from tests.routing.cases_support import interaction, received

POSTS: list[Item] = [
    ("El pedido 48213 llegó roto y nadie me contesta desde el lunes", "es"),
    ("I want to buy two of these, do you ship to Mexico?", "en"),
    ("¿Tenéis vacantes de dependiente en Sevilla? Me encantaría trabajar con vosotros", "es"),
    ("My card was charged twice for the same order, please refund one", "en"),
    ("Vuestra app no me deja entrar desde la última actualización", None),
    ("Loving the new colours, you nailed it!!", None),
    ("   ", "en"),  # no text: refused, no intent
    ("Das Paket ist nicht angekommen", None),  # another language: detected, scaled down
]


def _texts(where: str) -> float:
    value = REGISTRY.get_sample_value("socialcare_routing_prepared_texts_total", {"where": where})
    return value or 0.0


def _expected(items: list[Item]) -> list[object]:
    classifier = get_classifier()
    expected: list[object] = []
    for text, lang in items:
        try:
            expected.append(classifier.classify(text, lang))
        except ValueError:
            expected.append(None)
    return expected


@pytest.fixture
def worker() -> Iterator[ClassifierWorker]:
    worker = ClassifierWorker(min_texts=4, restart_after=0.0)
    try:
        yield worker
    finally:
        worker.close()


def test_the_worker_gives_the_consumers_own_predictions(worker: ClassifierWorker) -> None:
    items = POSTS * 20
    assert worker.wait_ready(120)
    assert worker.pid is not None
    assert worker.pid != os.getpid()
    before = _texts("worker")
    assert worker.classify_all(items) == _expected(items)
    assert _texts("worker") - before == len(items)


def test_until_it_has_loaded_the_model_the_caller_classifies(worker: ClassifierWorker) -> None:
    assert worker.pid is None
    # The first large batch starts the worker and gets None back: classify it yourself.
    assert worker.classify_all(POSTS) is None
    assert worker.wait_ready(120)
    assert worker.classify_all(POSTS) == _expected(POSTS)
    # Too few texts to be worth the hand-over: never sent.
    assert worker.classify_all(POSTS[:3]) is None


def test_a_dead_worker_is_replaced_and_nothing_is_lost_meanwhile(
    worker: ClassifierWorker,
) -> None:
    assert worker.wait_ready(120)
    first = worker.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while os.path.exists(f"/proc/{first}") and time.monotonic() < deadline:
        time.sleep(0.05)
    # The call on the dead worker fails: the caller classifies this batch itself.
    assert worker.classify_all(POSTS) is None
    assert worker.wait_ready(120)
    assert worker.pid not in (None, first)
    assert worker.classify_all(POSTS) == _expected(POSTS)


def test_a_worker_that_does_not_answer_in_time_is_killed() -> None:
    worker = ClassifierWorker(min_texts=1, timeout=0.001, restart_after=60.0)
    try:
        assert worker.wait_ready(120)
        pid = worker.pid
        assert pid is not None
        assert worker.classify_all(POSTS * 500) is None  # far more than a millisecond's work
        deadline = time.monotonic() + 30
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not os.path.exists(f"/proc/{pid}")
        # Not restarted before `restart_after`: the consumer keeps the work meanwhile.
        assert worker.classify_all(POSTS) is None
        assert worker.pid is None
    finally:
        worker.close()


def test_a_closed_worker_is_not_started_again(worker: ClassifierWorker) -> None:
    assert worker.wait_ready(120)
    pid = worker.pid
    assert pid is not None
    worker.close()
    assert worker.classify_all(POSTS) is None
    assert not worker.wait_ready(1)
    deadline = time.monotonic() + 30
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}")


def test_the_intake_prepares_large_polls_in_its_worker() -> None:
    settings = RoutingSettings(database_url="sqlite+aiosqlite://", kafka_bootstrap="127.0.0.1:9")
    assert settings.intent_worker  # the service's default
    intake = build_intake(settings)
    assert intake.worker is not None
    intake.worker.min_texts = 4
    try:
        items = [
            interaction("acme", text, thread=f"t-{index}", lang=lang)
            for index, (text, lang) in enumerate(POSTS)
            if text.strip()
        ]
        groups = {"interaction.received": [received(item) for item in items]}
        classifier = intake.classifier()
        expected = {
            (item.id, item.text, item.lang): classifier.classify(
                item.text, item.lang if item.lang in ("es", "en") else None
            )
            for item in items
        }
        consumer_before = _texts("consumer")
        assert intake.prepare(groups).predictions == expected  # the worker is starting
        assert _texts("consumer") - consumer_before == len(items)
        assert intake.worker.wait_ready(120)
        worker_before = _texts("worker")
        assert intake.prepare(groups).predictions == expected
        assert _texts("worker") - worker_before == len(items)
    finally:
        intake.close()
    assert not build_intake(settings.model_copy(update={"intent_worker": False})).worker


def test_a_worker_that_cannot_load_its_model_leaves_the_work_to_the_consumer(
    tmp_path: Path,
) -> None:
    worker = ClassifierWorker(tmp_path / "missing.npz", min_texts=1, restart_after=0.0)
    try:
        assert not worker.wait_ready(120)
        assert worker.classify_all(POSTS) is None  # the failure is seen: no worker
        assert worker.pid is None
        assert not worker.wait_ready(120)  # tried again (no pause here): the same
        assert worker.classify_all(POSTS) is None
    finally:
        worker.close()
