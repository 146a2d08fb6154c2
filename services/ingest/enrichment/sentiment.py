"""Sentiment analysis for ingest: label (negative|neutral|positive) and score in -1..1.

Language policy:
- ``es``: the project's rule-based Spanish analyser (``spanish.py``, hand-written lexicon).
- ``en``: VADER (MIT) with hand-written customer-care additions (``english.py``).
- anything else or unknown: if the text looks English (enough common English function words),
  VADER; if it looks Spanish, the Spanish analyser; otherwise only emoji and emoticons are scored,
  which gives a neutral result for plain text in other languages.

Thresholds map the compound score to a label; they were tuned on the ``val`` splits of the
research data set (see ``scripts/eval_nlp.py``), never on test data.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Final

from shared.events.interactions import Sentiment, SentimentLabel
from shared.text.tokens import TokenKind, tokenize

from .english import EnglishSentimentAnalyser
from .lexicon import load_valences
from .spanish import ALPHA, SpanishSentimentAnalyser


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Compound score at or above `positive` → positive; at or below `negative` → negative."""

    negative: float
    positive: float

    def label(self, score: float) -> SentimentLabel:
        if score >= self.positive:
            return SentimentLabel.positive
        if score <= self.negative:
            return SentimentLabel.negative
        return SentimentLabel.neutral


THRESHOLDS: Final[dict[str, Thresholds]] = {
    "es": Thresholds(negative=-0.1, positive=0.35),
    "en": Thresholds(negative=-0.1, positive=0.35),
    "other": Thresholds(negative=-0.3, positive=0.3),
}

# Common function words, compared with the tokenizer's keys (lower-case, accents folded).
_ENGLISH_MARKERS: Final = frozenset(
    "the and is are was were you your i my me it this that not with for of have has but what "
    "why when how please thanks thank".split()
)
_SPANISH_MARKERS: Final = frozenset(
    "el la los las y es son que de del en por para con pero no mi tu su muy gracias hola "
    "porque cuando como esta estoy".split()
)
MIN_MARKERS: Final = 2


class SentimentAnalyser:
    """Dispatches to the per-language analysers; built once per process (see `get_analyser`)."""

    def __init__(self) -> None:
        self.emoji = load_valences("emoji.tsv")
        self.spanish = SpanishSentimentAnalyser.load_default(self.emoji)
        self.english = EnglishSentimentAnalyser(self.emoji)

    def score(self, text: str, lang: str | None) -> tuple[float, str]:
        """Compound score in -1..1 and the key of the thresholds to label it with."""
        if lang:
            # Connection defaults may carry a region ("es-MX", "en_GB"): only the language counts.
            lang = lang.replace("_", "-").split("-", 1)[0].lower()
        if lang == "es":
            return self.spanish.polarity(text), "es"
        if lang == "en":
            return self.english.polarity(text), "en"
        words = [t.key for t in tokenize(text) if t.kind is TokenKind.WORD]
        english = sum(w in _ENGLISH_MARKERS for w in words)
        spanish = sum(w in _SPANISH_MARKERS for w in words)
        if english >= MIN_MARKERS and english > spanish:
            return self.english.polarity(text), "en"
        if spanish >= MIN_MARKERS and spanish > english and lang is None:
            return self.spanish.polarity(text), "es"
        return self._emoji_only(text), "other"

    def _emoji_only(self, text: str) -> float:
        total = sum(
            self.emoji.get(t.key, 0.0)
            for t in tokenize(text)
            if t.kind in (TokenKind.EMOJI, TokenKind.EMOTICON)
        )
        return total / math.sqrt(total * total + ALPHA)

    def analyse(self, text: str, lang: str | None) -> Sentiment:
        score, thresholds_key = self.score(text, lang)
        score = max(-1.0, min(1.0, score))
        return Sentiment(label=THRESHOLDS[thresholds_key].label(score), score=round(score, 4))


_analyser: SentimentAnalyser | None = None
_analyser_lock = threading.Lock()


def get_analyser() -> SentimentAnalyser:
    """The process-wide analyser (lexicons are parsed once, on first use)."""
    global _analyser
    if _analyser is None:
        with _analyser_lock:
            if _analyser is None:
                _analyser = SentimentAnalyser()
    return _analyser


def analyse_sentiment(text: str, lang: str | None) -> Sentiment:
    """Sentiment of a post written in `lang` (ISO 639-1, or None when unknown)."""
    return get_analyser().analyse(text, lang)
