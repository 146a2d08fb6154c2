"""Intents: what a customer wants, in Spanish and English (pure: no FastAPI, no database).

Rules per language (`rules.py`) and a small linear model over word and character n-grams
(`model.npz`, trained by `scripts/train_intents.py` on the labelled set in `data/`) score the
fourteen intents of `definitions.py`. Offline, deterministic, a fraction of a millisecond per
post on one core.

- ``get_classifier().classify(text, lang=None)`` → ``IntentPrediction``
- ``DEFINITIONS`` / ``describe_intents()``: what each intent means, with its boundary cases.
"""

from .classifier import (
    MAX_TEXT_BYTES,
    SUPPORTED_LANGUAGES,
    EmptyTextError,
    IntentClassifier,
    IntentInputError,
    IntentPrediction,
    ScoredIntent,
    TextTooLongError,
    UnsupportedLanguageError,
    check_text,
    get_classifier,
)
from .definitions import DEFINITIONS, INTENTS, Intent, IntentDefinition, describe_intents
from .model import MODEL_PATH, IntentModel, load_model

__all__ = [
    "DEFINITIONS",
    "INTENTS",
    "MAX_TEXT_BYTES",
    "MODEL_PATH",
    "SUPPORTED_LANGUAGES",
    "EmptyTextError",
    "Intent",
    "IntentClassifier",
    "IntentDefinition",
    "IntentInputError",
    "IntentModel",
    "IntentPrediction",
    "ScoredIntent",
    "TextTooLongError",
    "UnsupportedLanguageError",
    "check_text",
    "describe_intents",
    "get_classifier",
    "load_model",
]
