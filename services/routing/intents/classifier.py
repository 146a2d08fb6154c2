"""Classify a post: language, features, model scores, and the answer with its alternatives."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from shared.text.language import detect_language

from .definitions import Intent
from .features import cue_features, normalise
from .model import MODEL_PATH, IntentModel, load_model

SUPPORTED_LANGUAGES: Final = ("es", "en")
MAX_TEXT_BYTES: Final = 64 * 1024
# A post in another language is still classified (names, emoji and shared words carry some
# signal), with its confidence scaled down so routing rules can tell it apart.
OTHER_LANGUAGE_FACTOR: Final = 0.5
MAX_ALTERNATIVES: Final = 3
MIN_ALTERNATIVE: Final = 0.01


class IntentInputError(ValueError):
    """A text the classifier refuses; `field` names the input at fault."""

    field = "text"


class EmptyTextError(IntentInputError):
    pass


class TextTooLongError(IntentInputError):
    pass


class UnsupportedLanguageError(IntentInputError):
    field = "lang"


@dataclass(frozen=True, slots=True)
class ScoredIntent:
    intent: Intent
    confidence: float


@dataclass(frozen=True, slots=True)
class IntentPrediction:
    intent: Intent
    confidence: float
    lang: str | None  # None: too short to tell
    alternatives: tuple[ScoredIntent, ...]


def check_text(text: str) -> None:
    if not text.strip():
        raise EmptyTextError("the text is empty")
    if len(text) * 4 > MAX_TEXT_BYTES and len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise TextTooLongError(f"the text is over {MAX_TEXT_BYTES} bytes of UTF-8")


class IntentClassifier:
    """Deterministic: the same text, language and model always give the same prediction."""

    def __init__(self, model: IntentModel) -> None:
        self.model = model

    def classify(self, text: str, lang: str | None = None) -> IntentPrediction:
        check_text(text)
        if lang is not None and lang not in SUPPORTED_LANGUAGES:
            raise UnsupportedLanguageError(
                f"unsupported lang {lang!r}; supported: {', '.join(SUPPORTED_LANGUAGES)}"
            )
        factor = 1.0
        if lang is None:
            lang = detect_language(text, default=None)
            if lang is not None and lang not in SUPPORTED_LANGUAGES:
                factor = OTHER_LANGUAGE_FACTOR
        rules_lang = lang if lang in SUPPORTED_LANGUAGES else "und"
        tokens = normalise(text, rules_lang)
        probabilities = self.model.score_tokens(tokens, cue_features(tokens, rules_lang))
        # Equal probabilities keep the order of INTENTS, so ties always break the same way.
        ranked = sorted(range(len(probabilities)), key=lambda index: (-probabilities[index], index))
        best = ranked[0]
        alternatives = tuple(
            ScoredIntent(self.model.intents[index], round(probabilities[index] * factor, 4))
            for index in ranked[1 : MAX_ALTERNATIVES + 1]
            if probabilities[index] >= MIN_ALTERNATIVE
        )
        return IntentPrediction(
            intent=self.model.intents[best],
            confidence=round(probabilities[best] * factor, 4),
            lang=lang,
            alternatives=alternatives,
        )

    def classify_or_none(self, text: str, lang: str | None = None) -> IntentPrediction | None:
        """`classify`, or None for a text it refuses (no text: a photo, a sticker)."""
        try:
            return self.classify(text, lang)
        except IntentInputError:
            return None


_default: IntentClassifier | None = None
_lock = threading.Lock()


def get_classifier(path: Path | None = None) -> IntentClassifier:
    """The classifier of the shipped model (loaded once per process), or of the model at `path`."""
    global _default
    if path is not None and path != MODEL_PATH:
        return IntentClassifier(load_model(path))
    if _default is None:
        with _lock:
            if _default is None:
                _default = IntentClassifier(load_model())
    return _default
