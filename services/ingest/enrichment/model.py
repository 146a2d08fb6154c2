"""The sentiment model: a small multinomial logistic regression over lexicon features.

Why a linear model over a dozen lexicon features and not over word n-grams: fitted on the
project's own posts, hashed word n-grams lowered the figures on real tweets (Spanish, on the
research data's train split: 0.577 → 0.559 macro-F1), and even fitted on real tweets they added
0.005 in cross-validation; the lexicon's scores are what carries over from written posts to real
traffic. A model over them ships no vocabulary or text of any corpus — only a few dozen
coefficients (``data/sentiment_model.json``), fitted on the project's own labelled posts
(``data/sentiment``) with ``make train-sentiment`` (fixed seed, same file every run). See the
package README for the licence position and the figures.

The model is small enough to be evaluated in pure Python faster than the lexicon look-ups that
feed it, so it adds no dependency at run time.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Final

# `regex` for the emoji pattern's Unicode properties; it ships no stubs.
import regex  # type: ignore[import-untyped, unused-ignore]

from shared.text.tokens import EMOJI_SEQUENCE, EMOTICON, MENTION_RE, URL_RE, fold

LABELS: Final = ("negative", "neutral", "positive")
MODEL_FILE: Final = "sentiment_model.json"
MODEL_VERSION: Final = 1
# Features, in the order their weights are stored. Values are kept within about -1..1 so that
# one learning rate suits them all.
FEATURES: Final = (
    "bias",
    "compound",  # the lexicon analyser's compound score, -1..1
    "compound_pos",  # its positive part
    "compound_neg",  # its negative part
    "positive_mass",  # how much positive valence was found (scaled)
    "negative_mass",  # how much negative valence was found (scaled)
    "mixed",  # both at once: irony and contrast live here
    "question",
    "exclamation",
    "length",  # log of the word count
    "url",  # links are mostly news and announcements
    "hashtags",
    "mentions",
    "emoji",
)

_WORD_RE = re.compile(r"[^\W\d_]+")
_EMOJI_OR_EMOTICON_RE = regex.compile(rf"{EMOJI_SEQUENCE}|{EMOTICON}")


@dataclass(frozen=True, slots=True)
class TextView:
    """A cheap reading of a post: its folded words and a few marks (no full tokenising)."""

    words: list[str]
    question: bool
    exclamation: bool
    emoji: bool
    url: bool


def text_view(text: str) -> TextView:
    # The cheap substring tests skip patterns that cannot match (most posts have no link).
    url = ("://" in text or "www." in text.lower()) and bool(URL_RE.search(text))
    plain = URL_RE.sub(" ", text) if url else text
    if "@" in plain:
        plain = MENTION_RE.sub(" ", plain)
    return TextView(
        words=_WORD_RE.findall(fold(plain)),
        question="?" in plain or "¿" in plain,
        exclamation="!" in plain or "¡" in plain,
        emoji=bool(_EMOJI_OR_EMOTICON_RE.search(plain)),
        url=url,
    )


def text_features(
    text: str, view: TextView, compound: float, positive: float, negative: float
) -> dict[str, float]:
    """Feature values of one text, given what the lexicon analyser found in it."""
    return {
        "bias": 1.0,
        "compound": compound,
        "compound_pos": max(compound, 0.0),
        "compound_neg": min(compound, 0.0),
        "positive_mass": positive,
        "negative_mass": negative,
        "mixed": positive * negative,
        "question": float(view.question),
        "exclamation": float(view.exclamation),
        "length": math.log1p(len(view.words)) / 3,
        "url": float(view.url),
        "hashtags": min(text.count("#"), 3) / 3,
        "mentions": min(text.count("@"), 3) / 3,
        "emoji": float(view.emoji),
    }


@dataclass(frozen=True, slots=True)
class LinearModel:
    """Weights of one language: ``weights[label][feature]``, labels and features as above."""

    weights: tuple[tuple[float, ...], ...]
    _columns: tuple[tuple[str, float, float, float], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        negative, neutral, positive = self.weights
        columns = tuple(zip(FEATURES, negative, neutral, positive, strict=True))
        object.__setattr__(self, "_columns", columns)

    def probabilities(self, features: Mapping[str, float]) -> tuple[float, float, float]:
        negative = neutral = positive = 0.0
        for name, w_negative, w_neutral, w_positive in self._columns:
            value = features[name]
            if value:
                negative += w_negative * value
                neutral += w_neutral * value
                positive += w_positive * value
        top = max(negative, neutral, positive)
        e_negative = math.exp(negative - top)
        e_neutral = math.exp(neutral - top)
        e_positive = math.exp(positive - top)
        total = e_negative + e_neutral + e_positive
        return e_negative / total, e_neutral / total, e_positive / total


def model_to_json(models: Mapping[str, LinearModel], *, seed: int, trained_on: str) -> str:
    """The compact, diff-friendly file ``make train-sentiment`` writes (one label a line)."""
    header = {
        "version": MODEL_VERSION,
        "seed": seed,
        "trained_on": trained_on,
        "labels": list(LABELS),
        "features": list(FEATURES),
    }
    lines = [json.dumps(header, ensure_ascii=False)[:-1] + ', "languages": {']
    languages = sorted(models.items())
    for number, (lang, model) in enumerate(languages):
        rows = ",\n  ".join(json.dumps([round(w, 5) for w in row]) for row in model.weights)
        closing = "]," if number < len(languages) - 1 else "]"
        lines.append(f' "{lang}": [\n  {rows}\n {closing}')
    lines.append("}}")
    return "\n".join(lines) + "\n"


def load_models(filename: str = MODEL_FILE) -> dict[str, LinearModel]:
    """Read the shipped weights, refusing a file made for other labels or features."""
    text = resources.files(__package__).joinpath("data", filename).read_text(encoding="utf-8")
    document = json.loads(text)
    if document.get("version") != MODEL_VERSION:
        raise ValueError(f"{filename}: unsupported model version {document.get('version')!r}")
    if tuple(document["labels"]) != LABELS or tuple(document["features"]) != FEATURES:
        raise ValueError(f"{filename}: labels or features differ from the code's; retrain it")
    models: dict[str, LinearModel] = {}
    for lang, rows in document["languages"].items():
        if len(rows) != len(LABELS) or any(len(row) != len(FEATURES) for row in rows):
            raise ValueError(f"{filename}: weights of {lang!r} have the wrong shape")
        models[lang] = LinearModel(tuple(tuple(float(w) for w in row) for row in rows))
    return models
