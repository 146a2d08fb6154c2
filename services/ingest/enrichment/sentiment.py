"""Sentiment analysis for ingest: label (negative|neutral|positive) and score in -1..1.

Language policy:
- ``es``: the project's rule-based Spanish analyser (``spanish.py``, hand-written lexicon).
- ``en``: VADER (MIT) with hand-written customer-care additions (``english.py``).
- anything else or unknown: if the text looks English (enough common English function words),
  VADER; if it looks Spanish, the Spanish analyser; otherwise only emoji and emoticons are scored,
  which gives a neutral result for plain text in other languages.

For Spanish and English, what the lexicon analyser found (compound score, positive and negative
valence, punctuation, links...) goes through a small logistic regression per language
(``model.py``, weights in ``data/sentiment_model.json``, rebuilt by ``make train-sentiment``).
The label is the most probable class; the score blends P(positive) − P(negative) with the
lexicon's compound score. Hand-written
complaint cues (``cues.py``: escalation threats, nobody answering, repeated failures, sarcasm,
incidents told calmly) make a post negative whatever the model says, and a long post whose
negative valence outweighs its positive one is never neutral.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Final

from shared.events.interactions import Sentiment, SentimentLabel
from shared.text.tokens import TokenKind, tokenize

from .cues import Cue, complaint_cues
from .english import EnglishSentimentAnalyser
from .lexicon import load_valences
from .model import LinearModel, load_models, text_features, text_view
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


# Only for languages without a model (emoji and emoticons alone are scored).
OTHER_THRESHOLDS: Final = Thresholds(negative=-0.3, positive=0.3)
# Share of the model's margin in the score (the rest is the lexicon's compound score).
MARGIN_WEIGHT: Final = 1 / 3
# A post with a complaint cue scores at most this.
CUE_SCORE: Final = -0.5
# Posts of this many words or more are "long": a long complaint is not neutral.
LONG_POST_WORDS: Final = 40
# Spanish valence sums (log1p) and VADER's proportions are brought to about 0..1.
SPANISH_MASS_SCALE: Final = 0.5
ENGLISH_PROPORTION_SCALE: Final = 2.0
_LABELS: Final = (SentimentLabel.negative, SentimentLabel.neutral, SentimentLabel.positive)


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the analyser computed for one post (used by the evaluation and training)."""

    lang: str  # the model's language key: "es", "en" or "other"
    features: dict[str, float]
    cues: frozenset[Cue]
    negative_outweighs: bool
    long_post: bool
    compound: float


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

    def __init__(self, models: dict[str, LinearModel] | None = None) -> None:
        self.emoji = load_valences("emoji.tsv")
        self.spanish = SpanishSentimentAnalyser.load_default(self.emoji)
        self.english = EnglishSentimentAnalyser(self.emoji)
        self.models = load_models() if models is None else models

    def model_language(self, text: str, lang: str | None) -> str:
        """Which analyser reads `text`: "es", "en" or "other" (emoji only)."""
        if lang:
            # Connection defaults may carry a region ("es-MX", "en_GB"): only the language counts.
            lang = lang.replace("_", "-").split("-", 1)[0].lower()
        if lang in ("es", "en"):
            return lang
        words = [t.key for t in tokenize(text) if t.kind is TokenKind.WORD]
        english = sum(w in _ENGLISH_MARKERS for w in words)
        spanish = sum(w in _SPANISH_MARKERS for w in words)
        if english >= MIN_MARKERS and english > spanish:
            return "en"
        if spanish >= MIN_MARKERS and spanish > english and lang is None:
            return "es"
        return "other"

    def analysis(self, text: str, lang: str | None) -> Analysis:
        key = self.model_language(text, lang)
        view = text_view(text)
        # The two analysers measure valence differently; both are brought to about 0..1.
        if key == "es":
            compound, positive, negative = self.spanish.polarity_parts(text)
            positive_mass = math.log1p(positive) * SPANISH_MASS_SCALE
            negative_mass = math.log1p(negative) * SPANISH_MASS_SCALE
        elif key == "en":
            compound, positive, negative = self.english.polarity_parts(text)
            positive_mass = positive * ENGLISH_PROPORTION_SCALE
            negative_mass = negative * ENGLISH_PROPORTION_SCALE
        else:
            compound, positive, negative = self._emoji_only(text), 0.0, 0.0
            positive_mass = negative_mass = 0.0
        features = text_features(text, view, compound, positive_mass, negative_mass)
        return Analysis(
            lang=key,
            features=features,
            cues=frozenset(complaint_cues(view.words, key)),
            negative_outweighs=negative > positive,
            long_post=len(view.words) >= LONG_POST_WORDS,
            compound=compound,
        )

    def classify(self, analysis: Analysis, model: LinearModel | None = None) -> Sentiment:
        """Label and score of an analysed post (with `model` instead of the shipped one)."""
        if not _has_content(analysis):
            return Sentiment(label=SentimentLabel.neutral, score=0.0)
        model = model or self.models.get(analysis.lang)
        if model is None:
            score = max(-1.0, min(1.0, analysis.compound))
            return Sentiment(label=OTHER_THRESHOLDS.label(score), score=round(score, 4))
        probabilities = model.probabilities(analysis.features)
        label = _LABELS[max(range(3), key=probabilities.__getitem__)]
        # A third the model's margin, two thirds the lexicon's compound: the score keeps the
        # lexicon's sense of intensity ("very good" > "good").
        margin = probabilities[2] - probabilities[0]
        score = MARGIN_WEIGHT * margin + (1 - MARGIN_WEIGHT) * analysis.compound
        # "Tercera vez que compro y siempre encantada" repeats without failing: a repetition
        # counts only in a post that is not otherwise positive, or is sarcastic.
        repeated_only = analysis.cues == {Cue.repeated_failure}
        if analysis.cues and not (
            repeated_only and label is SentimentLabel.positive and not analysis.negative_outweighs
        ):
            label, score = SentimentLabel.negative, min(score, CUE_SCORE)
        elif label is SentimentLabel.neutral and analysis.long_post and analysis.negative_outweighs:
            label, score = SentimentLabel.negative, min(score, CUE_SCORE)
        return Sentiment(label=label, score=round(max(-1.0, min(1.0, score)), 4))

    def _emoji_only(self, text: str) -> float:
        total = sum(
            self.emoji.get(t.key, 0.0)
            for t in tokenize(text)
            if t.kind in (TokenKind.EMOJI, TokenKind.EMOTICON)
        )
        return total / math.sqrt(total * total + ALPHA)

    def analyse(self, text: str, lang: str | None) -> Sentiment:
        return self.classify(self.analysis(text, lang))


def _has_content(analysis: Analysis) -> bool:
    """False for posts with nothing to read ("", "@user", a bare link, "!!!")."""
    features = analysis.features
    return features["length"] > 0 or features["emoji"] > 0


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
