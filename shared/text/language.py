"""Language detection with lingua, tuned for short social posts in a Spanish/English brand.

Policy:
- The text is cleaned first (URLs, @mentions, '#', emoji removed): they carry no language.
- Very short texts (fewer than ``MIN_WORDS`` words or ``MIN_LETTERS`` letters) return the
  connection's default language: n-gram models are unreliable on "ok 👍" or "gracias!!".
- Spanish and English come first (the connection's default language counts as primary too):
  another supported language wins only when lingua is very sure of it (``OTHER_MIN_CONFIDENCE``),
  or fairly sure on a text of at least ``LONG_TEXT_LETTERS`` letters
  (``OTHER_MIN_CONFIDENCE_LONG``). Informal Spanish tweets often look Portuguese, Catalan or
  Basque to an n-gram model ("No es triste, es normal" scores eu > es), hence the bias.
"""

from __future__ import annotations

import threading
from typing import Final

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from shared.text.tokens import count_letters, count_words, strip_for_language

# Languages a Spanish/English brand realistically receives; restricting the set makes lingua
# faster and avoids exotic answers for short texts.
SUPPORTED_LANGUAGES: Final[tuple[Language, ...]] = (
    Language.SPANISH,
    Language.ENGLISH,
    Language.PORTUGUESE,
    Language.FRENCH,
    Language.ITALIAN,
    Language.GERMAN,
    Language.CATALAN,
    Language.BASQUE,
    Language.DUTCH,
)
PRIMARY_CODES: Final[frozenset[str]] = frozenset({"es", "en"})

MIN_WORDS: Final = 3
MIN_LETTERS: Final = 12
LONG_TEXT_LETTERS: Final = 40
OTHER_MIN_CONFIDENCE: Final = 0.9
OTHER_MIN_CONFIDENCE_LONG: Final = 0.75

_detector: LanguageDetector | None = None
_detector_lock = threading.Lock()


def _get_detector() -> LanguageDetector:
    """Build the lingua detector once per process (it holds the n-gram models in memory)."""
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                _detector = (
                    LanguageDetectorBuilder.from_languages(*SUPPORTED_LANGUAGES)
                    # Loading models lazily would make the first posts of each language slow.
                    .with_preloaded_language_models()
                    .build()
                )
    return _detector


def warm_up() -> None:
    """Load the language models now (call at service start-up, not in the first request)."""
    _get_detector()


def _iso(language: Language) -> str:
    return str(language.iso_code_639_1.name).lower()


# Frequent words of each primary language that neither the other one nor its neighbours
# (Portuguese, Catalan, Italian, French, German, Dutch) use ("de", "que", "la", "in", "was"... are
# left out on purpose). A post with several of one list and none of the other is decided without
# lingua, which costs ~0.5 ms a text; anything less clear-cut still goes to lingua.
_SPANISH_MARKERS: Final = frozenset(
    "y los las del al está están estoy eres somos muy más también porque cuando donde qué "
    "cómo cuándo dónde cuál pero nuestro nuestra este esta estos estas ese esa eso esto hay "
    "nada nadie todo todos siempre nunca hoy mañana ayer tengo tiene tienen hacer puedo puede "
    "quiero llevo sigo ni gracias hola pedido ya usted ustedes vosotros nosotros".split()
)
_ENGLISH_MARKERS: Final = frozenset(
    "the and of to are were be been this that these those it its i you he she we they my your "
    "his her our their what who how when where why which do does did don't doesn't didn't "
    "can can't won't would should could have has had not just very really thanks thank hello "
    "please still with for from at but by about i'm it's you're we're they're".split()
)
QUICK_MIN_HITS: Final = 3
QUICK_MARGIN: Final = 4
_EDGE_PUNCTUATION = ".,;:!?¡¿()\"'“”«»…"


def quick_guess(cleaned: str) -> str | None:
    """'es' or 'en' when marker words leave no doubt, else None (ask lingua)."""
    spanish = english = 0
    for raw in cleaned.lower().split():
        word = raw.strip(_EDGE_PUNCTUATION).replace("’", "'")
        if word in _SPANISH_MARKERS:
            spanish += 1
        elif word in _ENGLISH_MARKERS:
            english += 1
    if spanish >= QUICK_MIN_HITS and english * QUICK_MARGIN <= spanish:
        return "es"
    if english >= QUICK_MIN_HITS and spanish * QUICK_MARGIN <= english:
        return "en"
    return None


def detect_language(text: str, *, default: str | None) -> str | None:
    """ISO 639-1 code of `text`, or `default` when the text is too short to tell.

    `default` is the connection's configured language (may be None: then short texts give None).
    """
    cleaned = strip_for_language(text)
    letters = count_letters(cleaned)
    if count_words(cleaned) < MIN_WORDS or letters < MIN_LETTERS:
        return default
    quick = quick_guess(cleaned)
    if quick is not None:
        return quick
    confidences = _get_detector().compute_language_confidence_values(cleaned)
    if not confidences or confidences[0].value == 0.0:
        return default
    primary = PRIMARY_CODES | ({default} if default else set())
    best = confidences[0]
    best_code = _iso(best.language)
    if best_code in primary:
        return best_code
    needed = OTHER_MIN_CONFIDENCE_LONG if letters >= LONG_TEXT_LETTERS else OTHER_MIN_CONFIDENCE
    if best.value >= needed:
        return best_code
    for candidate in confidences[1:]:
        if _iso(candidate.language) in primary and candidate.value > 0.0:
            return _iso(candidate.language)
    # lingua ruled every primary language out (e.g. letters they do not use).
    return best_code
