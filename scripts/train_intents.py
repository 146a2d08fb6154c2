"""Train the intent model from the shipped labelled set (plus exported corrections).

Usage: ``uv run python scripts/train_intents.py [--examples FILE ...] [--output PATH]``
(``make retrain-intents [EXAMPLES=file.jsonl]``).

Reproducible: a fixed seed for the cross-validation folds and a deterministic solver (lbfgs), so
the same data gives the same weights. The regularisation strength is chosen by 5-fold
cross-validation on the train split only; the test split is read afterwards, to print the
figures of the model before and after, and never to choose anything.
Training uses scikit-learn's logistic regression (a development dependency); the service only
needs numpy to score.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
from scipy.sparse import csr_matrix  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from services.routing.intents import INTENTS, IntentClassifier, IntentModel  # noqa: E402
from services.routing.intents.dataset import (  # noqa: E402
    LANGUAGES,
    LabelledPost,
    load_shipped,
    parse_examples,
)
from services.routing.intents.evaluation import evaluate  # noqa: E402
from services.routing.intents.features import Features, extract  # noqa: E402
from services.routing.intents.model import MODEL_PATH, load_model  # noqa: E402

SEED = 20261201
C_GRID = (3.0, 10.0, 30.0)
MIN_DOCUMENT_FREQUENCY = 2
PRUNE_BELOW = 0.01  # features whose every weight is this small are left out of the file


def featurise(posts: list[LabelledPost]) -> list[Features]:
    return [extract(post.text, post.lang if post.lang in LANGUAGES else "und") for post in posts]


def build_vocabulary(features: list[Features]) -> dict[str, int]:
    frequency: Counter[str] = Counter()
    for item in features:
        frequency.update(set(item.text))
    names = sorted(name for name, count in frequency.items() if count >= MIN_DOCUMENT_FREQUENCY)
    names += sorted({cue for item in features for cue in item.cues})
    return {name: index for index, name in enumerate(names)}


def matrix(features: list[Features], vocabulary: dict[str, int]) -> csr_matrix:
    rows, columns, values = [], [], []
    for row, item in enumerate(features):
        weights: dict[int, float] = {}
        for name in item.text:
            column = vocabulary.get(name)
            if column is not None:
                weights[column] = weights.get(column, 0.0) + item.text_weight
        for name in item.cues:
            column = vocabulary.get(name)
            if column is not None:
                weights[column] = weights.get(column, 0.0) + 1.0
        for column, value in sorted(weights.items()):
            rows.append(row)
            columns.append(column)
            values.append(value)
    return csr_matrix((values, (rows, columns)), shape=(len(features), len(vocabulary)))


def fit(x: csr_matrix, y: np.ndarray, c: float) -> LogisticRegression:
    model = LogisticRegression(C=c, max_iter=1000, solver="lbfgs")
    model.fit(x, y)
    return model


def choose_c(x: csr_matrix, y: np.ndarray) -> tuple[float, dict[float, float]]:
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    results = {}
    for c in C_GRID:
        predicted = np.empty_like(y)
        for train_index, test_index in folds.split(x, y):
            predicted[test_index] = fit(x[train_index], y[train_index], c).predict(x[test_index])
        results[c] = float(f1_score(y, predicted, average="macro"))
    best = max(C_GRID, key=lambda c: (results[c], -c))
    return best, results


def train(posts: list[LabelledPost], meta_extra: dict[str, object]) -> IntentModel:
    features = featurise(posts)
    vocabulary = build_vocabulary(features)
    x = matrix(features, vocabulary)
    labels = [INTENTS.index(post.intent) for post in posts]
    y = np.array(labels)
    best_c, cv = choose_c(x, y)
    figures = ", ".join(f"{c:g}={f1:.3f}" for c, f1 in cv.items())
    print(f"cross-validation macro-F1 on train by C: {figures}")
    print(f"chosen C={best_c:g}")
    fitted = fit(x, y, best_c)
    # Classes are the indexes present; put their weights at their intent's column.
    weights = np.zeros((len(vocabulary), len(INTENTS)), dtype=np.float64)
    bias = np.full(len(INTENTS), -30.0)
    for position, label in enumerate(fitted.classes_):
        weights[:, label] = fitted.coef_[position]
        bias[label] = fitted.intercept_[position]
    keep = np.abs(weights).max(axis=1) >= PRUNE_BELOW
    names = [name for name, index in sorted(vocabulary.items(), key=lambda item: item[1])]
    kept = [name for name, flag in zip(names, keep, strict=True) if flag]
    return IntentModel(
        intents=INTENTS,
        vocabulary={name: index for index, name in enumerate(kept)},
        weights=weights[keep].astype(np.float16).astype(np.float32),
        bias=bias.astype(np.float32),
        meta={
            "seed": SEED,
            "C": best_c,
            "cv_macro_f1": round(cv[best_c], 4),
            "train_posts": len(posts),
            "features": len(kept),
            **meta_extra,
        },
    )


def test_figures(model: IntentModel) -> dict[str, float]:
    classifier = IntentClassifier(model)
    figures = {}
    for lang in LANGUAGES:
        posts = [post for post in load_shipped("test") if post.lang == lang]
        report = evaluate(
            (post.intent, classifier.classify(post.text, lang).intent) for post in posts
        )
        figures[lang] = report.macro_f1
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--examples",
        type=Path,
        action="append",
        default=[],
        help="exported corrections (JSON lines or CSV); repeatable",
    )
    parser.add_argument("--output", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)

    posts = load_shipped("train")
    extra: list[LabelledPost] = []
    for path in args.examples:
        extra.extend(parse_examples(path.read_text(encoding="utf-8")))
    print(f"training on {len(posts)} shipped posts + {len(extra)} exported examples")
    # "Before" is the model being replaced, else the shipped one.
    current = args.output if args.output.exists() else MODEL_PATH
    before = test_figures(load_model(current)) if current.exists() else None
    started = time.perf_counter()
    model = train(posts + extra, {"exported_examples": len(extra)})
    print(f"trained in {time.perf_counter() - started:.1f} s, {len(model.vocabulary)} features")
    after = test_figures(model)
    for lang in LANGUAGES:
        was = f"{before[lang]:.3f}" if before else "-"
        print(f"test macro-F1 [{lang}]: before {was}  after {after[lang]:.3f}")
    model.save(args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
