"""Retrain the sentiment model (``services/ingest/enrichment/data/sentiment_model.json``).

Usage: ``uv run python scripts/train_sentiment.py [--data DIR] [--check]``

By default fits one logistic regression per language on the project's own labelled posts
(``services/ingest/enrichment/data/sentiment/{es,en}/train.tsv`` and ``extra_train.tsv``,
written for the project under its licence) with a fixed seed, so the same data gives the same
file. The L2 penalty is chosen by 5-fold cross-validation on those posts only; the figures are
printed. The research data (research-use terms) is never read here: ``make eval-nlp`` only
measures the shipped file on it.

``--data DIR`` fits the weights on a brand's own labelled posts instead (same
``{es,en}/train.tsv`` layout, ``label<TAB>text``; a ``val.tsv`` beside it is left out). ``--check``
only verifies that the shipped file is what the project's posts and code produce.
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
    PROJECT_DATA,
    SEED,
    select_and_train,
    training_examples,
)

DEFAULT_DATA = PROJECT_DATA
PROJECT_TRAINED_ON = "socialcare's own labelled posts (enrichment/data/sentiment)"
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
        examples = training_examples(args.data, lang)
        if not examples:
            print(f"No labelled posts for {lang!r} in {args.data}", file=sys.stderr)
            return 2
        features = [analyser.analysis(e.text, lang).features for e in examples]
        fit = select_and_train(features, [e.label for e in examples])
        models[lang] = fit.model
        f1s = "  ".join(f"{label}={value:.3f}" for label, value in fit.cv_per_label.items())
        grid = "  ".join(f"{l2:g}:{f1:.3f}" for l2, f1 in fit.cv_by_l2.items())
        print(
            f"[{lang}] training n={len(examples)}  5-fold CV macro-F1={fit.cv_macro_f1:.3f} "
            f"at L2={fit.l2:g}  ({f1s})\n     CV macro-F1 by L2: {grid}"
        )
    default = args.data.resolve() == PROJECT_DATA.resolve()
    trained_on = PROJECT_TRAINED_ON if default else f"labelled posts in {args.data.name}"
    document = model_to_json(models, seed=SEED, trained_on=trained_on)
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
