"""Ingest enrichment: language detection and sentiment of inbound posts (pure Python).

Public API:
- ``detect_language(text, *, default)`` → ISO 639-1 code or ``default`` for very short posts.
- ``analyse_sentiment(text, lang)`` → ``shared.events.interactions.Sentiment``.
- ``enrich(text, *, default_lang)`` → ``Enrichment(lang, sentiment)``, what the pipeline calls.
- ``warm_up()`` loads models and lexicons (call at start-up so the first request is fast).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.interactions import Sentiment
from shared.text import language
from shared.text.language import detect_language

from .sentiment import analyse_sentiment, get_analyser


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What ingest adds to an Interaction: its language and sentiment."""

    lang: str | None
    sentiment: Sentiment


def enrich(text: str, *, default_lang: str | None) -> Enrichment:
    """Detect the language of `text` (falling back to `default_lang`) and score its sentiment."""
    lang = detect_language(text, default=default_lang)
    return Enrichment(lang=lang, sentiment=analyse_sentiment(text, lang))


def warm_up() -> None:
    """Load lingua models and the sentiment lexicons now rather than on the first post."""
    language.warm_up()
    get_analyser()


__all__ = ["Enrichment", "analyse_sentiment", "detect_language", "enrich", "warm_up"]
