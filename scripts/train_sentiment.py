"""Retrain the sentiment model (``services/ingest/enrichment/data/sentiment_model.json``).

Usage: ``uv run python scripts/train_sentiment.py [--data DIR] [--check]``

Trains one logistic regression per language on the clean ``training`` split of the sentiment
data (``train`` + ``extra_train`` without any text of ``val``; see
``services/ingest/enrichment/training.py``) with a fixed seed, so the same data gives the same
file. ``val`` is never read for training. Prints the 5-fold cross-validated macro-F1 on the
training split; ``make eval-nlp`` then measures the shipped file on the clean validation split.
``--check`` only verifies that the shipped file is what the data and code produce.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # allow `python scripts/train_sentiment.py` without installing
    sys.path.insert(0, str(REPO_ROOT))

from services.ingest.enrichment.model import MODEL_FILE, model_to_json  # noqa: E402
from services.ingest.enrichment.sentiment import SentimentAnalyser  # noqa: E402
from services.ingest.enrichment.training import (  # noqa: E402
    SEED,
    clean_splits,
    cross_validate,
    macro_f1,
    train,
)

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "sentiment"
MODEL_PATH = REPO_ROOT / "services" / "ingest" / "enrichment" / "data" / MODEL_FILE
LANGUAGES = ("es", "en")


# Another libm may round exp() differently in the last bit; weights within this are the same.
WEIGHT_TOLERANCE = 1e-3


def _same_weights(current: str, fresh: str) -> bool:
    try:
        old, new = json.loads(current), json.loads(fresh)
    except ValueError:
        return False
    if {k: v for k, v in old.items() if k != "languages"} != {
        k: v for k, v in new.items() if k != "languages"
    } or set(old["languages"]) != set(new["languages"]):
        return False
    return all(
        abs(a - b) <= WEIGHT_TOLERANCE
        for lang in new["languages"]
        for old_row, new_row in zip(old["languages"][lang], new["languages"][lang], strict=True)
        for a, b in zip(old_row, new_row, strict=True)
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="sentiment data folder")
    parser.add_argument("--output", type=Path, default=MODEL_PATH, help="weights file to write")
    parser.add_argument("--check", action="store_true", help="fail if the file would change")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"Sentiment data folder not found: {args.data}", file=sys.stderr)
        return 2

    analyser = SentimentAnalyser(models={})  # features only: no model needed to compute them
    models = {}
    for lang in LANGUAGES:
        splits = clean_splits(args.data, lang)
        features = [analyser.analysis(e.text, lang).features for e in splits.training]
        labels = [e.label for e in splits.training]
        cv_f1, per_label = macro_f1(labels, cross_validate(features, labels))
        models[lang] = train(features, labels)
        f1s = "  ".join(f"{label}={value:.3f}" for label, value in per_label.items())
        print(
            f"[{lang}] training n={len(splits.training)} (left out {splits.dropped_duplicates} "
            f"texts also in val)  5-fold CV macro-F1={cv_f1:.3f}  ({f1s})"
        )
    document = model_to_json(models, seed=SEED, trained_on="clean training split of UMSAB es/en")
    output: Path = args.output
    if args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if not _same_weights(current, document):
            print(f"{output} differs from a fresh training run", file=sys.stderr)
            return 1
        print(f"{output} is up to date")
        return 0
    output.write_text(document, encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
