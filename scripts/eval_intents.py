"""Evaluate the intent classifier on the held-out test split of the shipped labelled set.

Usage: ``uv run python scripts/eval_intents.py [--split test] [--model PATH] [--confusions N]``

Prints per-intent precision, recall and F1, macro-F1 per language (with the language given, as
routing has it from ingest, and detected), accuracy on the hard cases, and the worst
confusions. Nothing is tuned on the test split (see services/routing/intents/data/README.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from services.routing.intents import INTENTS, IntentClassifier, load_model  # noqa: E402
from services.routing.intents.dataset import LANGUAGES, SPLITS, load_split  # noqa: E402
from services.routing.intents.evaluation import EvaluationReport, evaluate  # noqa: E402
from services.routing.intents.model import MODEL_PATH  # noqa: E402

TARGET_MACRO_F1 = 0.80


def print_report(lang: str, report: EvaluationReport, confusions: int) -> None:
    print(
        f"\n[{lang}] {report.count} posts  accuracy {report.accuracy:.3f}  "
        f"macro-F1 {report.macro_f1:.3f}"
    )
    print(f"  {'intent':<20} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>4}")
    for intent in INTENTS:
        scores = report.per_intent.get(intent)
        if scores is not None:
            print(
                f"  {intent.value:<20} {scores.precision:6.3f} {scores.recall:6.3f} "
                f"{scores.f1:6.3f} {scores.support:4d}"
            )
    if report.confusions:
        print("  worst confusions (expected -> predicted):")
        for expected, predicted, count in report.confusions[:confusions]:
            print(f"    {expected.value} -> {predicted.value}: {count}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=SPLITS, default="test")
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    parser.add_argument("--confusions", type=int, default=5)
    args = parser.parse_args(argv)

    classifier = IntentClassifier(load_model(args.model))
    print(f"intents on the {args.split} split ({args.model.name}: {classifier.model.meta})")
    below = []
    for lang in LANGUAGES:
        posts = load_split(lang, args.split)
        given = [classifier.classify(post.text, lang).intent for post in posts]
        report = evaluate((post.intent, found) for post, found in zip(posts, given, strict=True))
        print_report(lang, report, args.confusions)
        detected = evaluate((post.intent, classifier.classify(post.text).intent) for post in posts)
        hard = [(post.intent, found) for post, found in zip(posts, given, strict=True) if post.hard]
        hard_report = evaluate(hard)
        print(
            f"  hard cases: {hard_report.count} posts, accuracy {hard_report.accuracy:.3f}; "
            f"macro-F1 with the language detected: {detected.macro_f1:.3f}"
        )
        if report.macro_f1 < TARGET_MACRO_F1:
            below.append(lang)
    if below:
        print(f"\nmacro-F1 below the {TARGET_MACRO_F1} target for: {', '.join(below)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
