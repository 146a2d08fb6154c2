"""A process of its own that classifies the intake's polls, off the consumer's interpreter.

The case intake classifies every new text of a poll in its `prepare` step, in the consumer's
fetch thread, while the previous poll's transaction runs. That work is pure Python: in the
consumer's process it holds the one interpreter lock the transaction's own work needs, so the
two take turns. In a second process it runs on another core meanwhile (`bench/routing.py`
measures both). The standard library's `concurrent.futures.ProcessPoolExecutor` is the pool;
what is ours is the policy around it, which no library gives:

- the worker starts on the first poll large enough to use it (`min_texts`), in the background;
  that poll, and any before the worker has loaded the model, are classified in the consumer as
  before. A quiet service (or a test run) never starts one.
- the same model file, the same code: predictions are the ones `IntentClassifier.classify`
  gives in the consumer (deterministic), `None` for a text it refuses (no text, too long).
- a worker that dies, fails or does not answer within `timeout` is killed and replaced after
  `restart_after` (doubled, up to ten minutes, while it keeps failing to start); meanwhile
  every poll is classified in the consumer. Nothing is lost: a failure here only moves the
  work back to where it was.
- spawned, not forked: the consumer's process has threads and open sockets a fork would copy.
  As with any spawned process, the worker imports the parent's main module first (uvicorn's
  and pytest's scripts are guarded by `__name__ == "__main__"`); a process whose main module
  can't be imported again (`python -c`, a notebook) logs `intent_worker_failed_to_start` and
  keeps classifying in the consumer.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import structlog
from prometheus_client import Counter

from .classifier import IntentClassifier, IntentPrediction, get_classifier

logger = structlog.get_logger("socialcare.routing.intents.worker")

# Fewer texts than this are classified in the consumer: the hand-over costs more than it frees.
MIN_TEXTS: Final = 64
TIMEOUT_SECONDS: Final = 30.0
RESTART_AFTER_SECONDS: Final = 30.0
MAX_RESTART_AFTER_SECONDS: Final = 600.0

TEXTS = Counter(
    "socialcare_routing_prepared_texts_total",
    "Texts the case intake classified in its prepare step, by where (worker or consumer)",
    ["where"],
)

# A text and its language (one of SUPPORTED_LANGUAGES, or None to detect it).
Item = tuple[str, str | None]

_worker_classifier: IntentClassifier | None = None


def _load(model_path: Path | None) -> int:
    """In the worker: load the model once; answer with the worker's pid."""
    global _worker_classifier
    _worker_classifier = get_classifier(model_path)
    return os.getpid()


def _classify_all(items: Sequence[Item]) -> list[IntentPrediction | None]:
    """In the worker: what `IntentClassifier.classify` gives for each item, None if refused."""
    classifier = _worker_classifier
    assert classifier is not None, "the worker classifies only after _load"
    return [classifier.classify_or_none(text, lang) for text, lang in items]


class ClassifierWorker:
    """One worker process with the intent model; `classify_all` is blocking (call it from a
    thread, as the consumer's prepare step runs)."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        min_texts: int = MIN_TEXTS,
        timeout: float = TIMEOUT_SECONDS,
        restart_after: float = RESTART_AFTER_SECONDS,
    ) -> None:
        self.model_path = model_path
        self.min_texts = min_texts
        self.timeout = timeout
        self.restart_after = restart_after
        self._backoff = restart_after
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._loaded: concurrent.futures.Future[int] | None = None
        self._failed_at: float | None = None
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The worker's process id once it has loaded the model."""
        loaded = self._loaded
        return None if loaded is None else self._ready_or_none(loaded)

    @staticmethod
    def _ready_or_none(loaded: concurrent.futures.Future[int]) -> int | None:
        if not loaded.done() or loaded.cancelled() or loaded.exception() is not None:
            return None
        return loaded.result()

    def start(self) -> None:
        """Start the worker in the background (it loads the model); no-op if it is there."""
        with self._lock:
            self._start_locked()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Start the worker if needed and wait until it has loaded the model."""
        self.start()
        loaded = self._loaded
        if loaded is None:
            return False
        with contextlib.suppress(Exception):
            loaded.result(timeout)
        return self.pid is not None

    def classify_all(self, items: Sequence[Item]) -> list[IntentPrediction | None] | None:
        """The predictions of `items` in order, or None: the caller classifies them itself
        (too few to be worth it, the worker not ready yet, or failed)."""
        if len(items) < self.min_texts:
            return None
        with self._lock:
            executor = self._start_locked()
            loaded = self._loaded
            if executor is None or loaded is None or not loaded.done():
                return None
            pid = self._ready_pid(loaded)
            if pid is None:
                return None
        try:
            predictions = executor.submit(_classify_all, list(items)).result(self.timeout)
        except Exception as exc:  # a dead worker (BrokenProcessPool), a timeout, a bug
            self._fail(pid, exc)
            return None
        TEXTS.labels("worker").inc(len(items))
        return predictions

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._stop_locked(None)

    # ------------------------------------------------------------------ internals

    def _start_locked(self) -> concurrent.futures.ProcessPoolExecutor | None:
        if self._closed:
            return None
        if self._executor is not None:
            return self._executor
        if self._failed_at is not None and time.monotonic() - self._failed_at < self._backoff:
            return None
        self._executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn")
        )
        self._loaded = self._executor.submit(_load, self.model_path)
        logger.info("intent_worker_starting")
        return self._executor

    def _ready_pid(self, loaded: concurrent.futures.Future[int]) -> int | None:
        try:
            pid = loaded.result(0)
        except Exception as exc:
            if self._failed_at is not None:  # failed before, and again at once
                self._backoff = min(self._backoff * 2, MAX_RESTART_AFTER_SECONDS)
            self._failed_at = time.monotonic()
            logger.warning(
                "intent_worker_failed_to_start",
                error=f"{type(exc).__name__}: {exc}",
                restart_in_seconds=self._backoff,
            )
            self._stop_locked(None)
            return None
        if self._failed_at is not None:
            self._failed_at, self._backoff = None, self.restart_after
            logger.info("intent_worker_restarted", pid=pid)
        return pid

    def _fail(self, pid: int, exc: BaseException) -> None:
        if self._closed:  # stopped under the call, at shutdown: nothing failed
            return
        logger.warning(
            "intent_worker_failed",
            error=f"{type(exc).__name__}: {exc}",
            restart_in_seconds=self._backoff,
        )
        with self._lock:
            self._failed_at = time.monotonic()
            self._stop_locked(pid)

    def _stop_locked(self, pid: int | None) -> None:
        executor, loaded = self._executor, self._loaded
        self._executor = self._loaded = None
        if executor is None:
            return
        if pid is None and loaded is not None:
            pid = self._ready_or_none(loaded)
        executor.shutdown(wait=False, cancel_futures=True)
        if pid is not None:
            # Nothing to finish in there: a worker stuck in a call goes now, not after it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
