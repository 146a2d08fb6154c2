"""Benchmark: sentiment scoring per text, the vaderSentiment package's scorer beside the
project's re-implementation (``services/ingest/enrichment/vader.py``), in the same run.

Prints CPU µs per text (one core, best of several passes) of VADER's scoring alone and of the
whole analyser (``analyse``) for English with either scorer, and of the Spanish analyser; the
ratio old/new; and checks that both give the same label and score on every text.

Texts: the clean val splits of the research data (``../shared/data/sentiment``) when present,
otherwise the project's own labelled posts.

    python bench/sentiment.py [--passes 5] [--data DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from services.ingest.enrichment.sentiment import SentimentAnalyser  # noqa: E402
from services.ingest.enrichment.training import PROJECT_DATA, clean_splits, load_split  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "sentiment"


class PackageScorer:
    """The package's ``polarity_scores`` behind the re-implementation's interface."""

    def __init__(self, lexicon: dict[str, float]) -> None:
        self._vader = SentimentIntensityAnalyzer()
        self._vader.lexicon = dict(lexicon)
        self._vader.emojis = {}

    def scores(self, text: str) -> tuple[float, float, float]:
        scores = self._vader.polarity_scores(text)
        return scores["compound"], scores["pos"], scores["neg"]


def texts_for(lang: str, data: Path) -> tuple[list[str], str]:
    if (data / lang / "val.tsv").is_file():
        return [e.text for e in clean_splits(data, lang).validation], "research clean val"
    posts = load_split(PROJECT_DATA / lang / "train.tsv")
    return [e.text for e in posts], "project posts"


def cpu_us_per_text(function: Callable[[str], object], texts: Sequence[str], passes: int) -> float:
    for text in texts[:20]:
        function(text)
    best = float("inf")
    for _ in range(passes):
        start = time.process_time()
        for text in texts:
            function(text)
        best = min(best, time.process_time() - start)
    return best / len(texts) * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)

    new = SentimentAnalyser()
    old = SentimentAnalyser(models=new.models)
    old.english.scorer = PackageScorer(new.english.scorer.lexicon)  # type: ignore[assignment]

    en_texts, source = texts_for("en", args.data)
    rewritten = [new.english._rewrite(text) for text in en_texts]
    print(f"CPU µs per text, best of {args.passes} passes (machine shared: indicative only)")
    rows = [
        (
            f"en VADER scoring only ({source}, n={len(en_texts)})",
            cpu_us_per_text(old.english.scorer.scores, rewritten, args.passes),
            cpu_us_per_text(new.english.scorer.scores, rewritten, args.passes),
        ),
        (
            "en whole analyser",
            cpu_us_per_text(lambda t: old.analyse(t, "en"), en_texts, args.passes),
            cpu_us_per_text(lambda t: new.analyse(t, "en"), en_texts, args.passes),
        ),
    ]
    es_texts, es_source = texts_for("es", args.data)
    es_us = cpu_us_per_text(lambda t: new.analyse(t, "es"), es_texts, args.passes)
    print(f"  {'':52} {'package':>9} {'project':>9} {'ratio':>7}")
    for name, before, after in rows:
        print(f"  {name:52} {before:9.1f} {after:9.1f} {before / after:6.2f}x")
    print(f"  {f'es whole analyser ({es_source}, n={len(es_texts)})':52} {'':9} {es_us:9.1f}")

    same = sum(old.analyse(t, "en") == new.analyse(t, "en") for t in en_texts)
    print(f"  identical English label and score with either scorer: {same}/{len(en_texts)}")
    return 0 if same == len(en_texts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
