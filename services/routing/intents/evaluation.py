"""Precision, recall and macro-F1 per intent, and the worst confusions (pure Python)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from .definitions import INTENTS, Intent


@dataclass(frozen=True)
class IntentScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EvaluationReport:
    count: int
    accuracy: float
    macro_f1: float
    per_intent: dict[Intent, IntentScores]
    confusions: list[tuple[Intent, Intent, int]]  # (expected, predicted, count), worst first


def evaluate(pairs: Iterable[tuple[Intent, Intent]]) -> EvaluationReport:
    """`pairs` of (expected, predicted) intents → the report. Macro-F1 over intents present."""
    counts: Counter[tuple[Intent, Intent]] = Counter(pairs)
    total = sum(counts.values())
    per_intent = {}
    for intent in INTENTS:
        true_positive = counts[(intent, intent)]
        predicted = sum(n for (_, p), n in counts.items() if p == intent)
        support = sum(n for (e, _), n in counts.items() if e == intent)
        if support == 0 and predicted == 0:
            continue
        precision = true_positive / predicted if predicted else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[intent] = IntentScores(precision, recall, f1, support)
    scored = [scores.f1 for scores in per_intent.values() if scores.support]
    confusions = sorted(
        ((e, p, n) for (e, p), n in counts.items() if e != p),
        key=lambda item: (-item[2], item[0].value, item[1].value),
    )
    correct = sum(n for (e, p), n in counts.items() if e == p)
    return EvaluationReport(
        count=total,
        accuracy=correct / total if total else 0.0,
        macro_f1=sum(scored) / len(scored) if scored else 0.0,
        per_intent=per_intent,
        confusions=confusions,
    )
