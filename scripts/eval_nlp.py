"""Evaluate ingest enrichment (sentiment + language detection) on the research sentiment data.

Usage: ``uv run python scripts/eval_nlp.py [--data DIR] [--split val] [--tune] [--errors N]``

The data folder holds ``{es,en}/{split}.tsv`` files with a ``label<TAB>text`` header. It is not
part of the repository (research-use licence, see its README); by default it is looked for in
``shared/data/sentiment`` next to the repository. Test splits are refused on purpose: they are
held out to measure the shipped analyser, so nothing may be tuned on them.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # allow `python scripts/eval_nlp.py` without installing
    sys.path.insert(0, str(REPO_ROOT))

from services.ingest.enrichment import detect_language  # noqa: E402
from services.ingest.enrichment.sentiment import THRESHOLDS, Thresholds, get_analyser  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "sentiment"
LABELS = ("negative", "neutral", "positive")
LANGUAGES = ("es", "en")
TIMING_PASSES = 3


@dataclass(frozen=True)
class Example:
    label: str
    text: str


@dataclass(frozen=True)
class LanguageReport:
    lang: str
    count: int
    accuracy: float
    macro_f1: float
    per_label_f1: dict[str, float]
    sentiment_us_per_text: float
    sentiment_us_per_text_warm: float
    lang_accuracy: float
    lang_fallbacks: int
    lang_us_per_text: float


# The English files keep some characters as literal JSON escapes ("\\u2019", "\\u002c");
# decode them so the analyser sees the text the platform delivered.
_JSON_ESCAPE_RE = re.compile(r"\\u([0-9a-fA-F]{4})")


def load_split(path: Path) -> list[Example]:
    """Read a ``label<TAB>text`` file with a header line."""
    examples: list[Example] = []
    with path.open(encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        if header[:2] != ["label", "text"]:
            raise SystemExit(f"{path}: expected header 'label<TAB>text', got {header!r}")
        for line_number, line in enumerate(handle, start=2):
            label, sep, text = line.rstrip("\n").partition("\t")
            if not sep or label not in LABELS:
                raise SystemExit(f"{path}:{line_number}: malformed line {line!r}")
            text = _JSON_ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), text)
            examples.append(Example(label, text))
    return examples


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> tuple[float, dict[str, float]]:
    per_label: dict[str, float] = {}
    for label in LABELS:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        total = precision + recall
        per_label[label] = 2 * precision * recall / total if total else 0.0
    return sum(per_label.values()) / len(LABELS), per_label


def scores_for(examples: Sequence[Example], lang: str) -> tuple[list[float], float, float]:
    """Compound scores, and mean µs per text on the first pass and the best of three passes.

    The first pass runs with cold word caches (like a freshly started service); the best later
    pass is the steady state. Both depend on machine load, so they are indicative only.
    """
    analyser = get_analyser()
    analyser.score("warm up", lang)
    timings: list[float] = []
    scores: list[float] = []
    for _ in range(1 + TIMING_PASSES):
        start = time.perf_counter()
        scores = [analyser.score(example.text, lang)[0] for example in examples]
        timings.append((time.perf_counter() - start) / max(1, len(examples)) * 1e6)
    return scores, timings[0], min(timings[1:])


def evaluate(examples: Sequence[Example], lang: str) -> LanguageReport:
    scores, us_per_text, us_per_text_warm = scores_for(examples, lang)
    thresholds = THRESHOLDS[lang]
    predicted = [thresholds.label(score).value for score in scores]
    gold = [example.label for example in examples]
    f1, per_label = macro_f1(gold, predicted)
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)

    detect_language("warm up the detector with a sentence", default=None)
    start = time.perf_counter()
    detected = [detect_language(example.text, default=None) for example in examples]
    lang_us = (time.perf_counter() - start) / len(examples) * 1e6
    lang_accuracy = sum(d == lang for d in detected) / len(detected)
    fallbacks = sum(d is None for d in detected)
    return LanguageReport(
        lang,
        len(examples),
        accuracy,
        f1,
        per_label,
        us_per_text,
        us_per_text_warm,
        lang_accuracy,
        fallbacks,
        lang_us,
    )


def tune(examples: Sequence[Example], lang: str) -> None:
    """Grid-search the label thresholds on this split and print the best few."""
    scores, _, _ = scores_for(examples, lang)
    gold = [example.label for example in examples]
    grid = [round(x * 0.025, 3) for x in range(0, 31)]
    results: list[tuple[float, float, float]] = []
    for negative in grid:
        for positive in grid:
            thresholds = Thresholds(negative=-negative, positive=positive)
            predicted = [thresholds.label(score).value for score in scores]
            results.append((macro_f1(gold, predicted)[0], -negative, positive))
    results.sort(reverse=True)
    print(f"  best thresholds for {lang} (macro-F1, negative, positive):")
    for f1, negative, positive in results[:5]:
        print(f"    {f1:.4f}  negative<={negative:+.3f}  positive>={positive:+.3f}")


def show_errors(examples: Sequence[Example], lang: str, limit: int) -> None:
    scores, _, _ = scores_for(examples, lang)
    shown = 0
    for example, score in zip(examples, scores, strict=True):
        predicted = THRESHOLDS[lang].label(score).value
        if predicted != example.label and shown < limit:
            print(f"  gold={example.label:<8} pred={predicted:<8} {score:+.3f}  {example.text}")
            shown += 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="sentiment data folder")
    parser.add_argument("--split", default="val", help="split name (default: val)")
    parser.add_argument("--lang", choices=LANGUAGES, action="append", help="limit to a language")
    parser.add_argument("--tune", action="store_true", help="grid-search label thresholds")
    parser.add_argument("--errors", type=int, default=0, help="print N misclassified texts")
    args = parser.parse_args(argv)

    if "test" in args.split:
        parser.error("test splits are held out: evaluate on val (or look at train)")
    data: Path = args.data
    if not data.is_dir():
        print(
            f"Sentiment data folder not found: {data}\n"
            "It is not shipped with the repository (research-use licence); pass --data DIR "
            "pointing at a folder with es/ and en/ sub-folders holding <split>.tsv files.",
            file=sys.stderr,
        )
        return 2

    reports: list[LanguageReport] = []
    for lang in args.lang or LANGUAGES:
        path = data / lang / f"{args.split}.tsv"
        if not path.is_file():
            print(f"missing {path}", file=sys.stderr)
            return 2
        examples = load_split(path)
        report = evaluate(examples, lang)
        reports.append(report)
        f1s = "  ".join(f"{label}={value:.3f}" for label, value in report.per_label_f1.items())
        print(
            f"[{lang}] {args.split}: n={report.count}  accuracy={report.accuracy:.3f}  "
            f"macro-F1={report.macro_f1:.3f}  ({f1s})\n"
            f"     sentiment {report.sentiment_us_per_text:.1f} µs/text first pass, "
            f"{report.sentiment_us_per_text_warm:.1f} µs/text warm  |  language detection "
            f"accuracy={report.lang_accuracy:.3f} (fallbacks to default: {report.lang_fallbacks})"
            f"  {report.lang_us_per_text:.0f} µs/text"
        )
        if args.tune:
            tune(examples, lang)
        if args.errors:
            show_errors(examples, lang, args.errors)

    analyser = get_analyser()
    print(
        f"lexicons: es={len(analyser.spanish.lexicon)} entries + "
        f"{len(analyser.spanish.modifiers)} modifiers, en additions={analyser.english.size}, "
        f"emoji/emoticons={len(analyser.emoji)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
