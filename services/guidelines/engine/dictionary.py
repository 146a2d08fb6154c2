"""Ordinary words of Spanish and English, so that a shouted "HOLA" is not taken for an acronym
and a stray "RMA" is not taken for shouting.

The word lists are the frequency dictionaries that ship with ``pyspellchecker`` (MIT licence),
read directly (no spell checker is built). A word counts as ordinary when it occurs at least
``MIN_FREQUENCY`` times in its language's list, or when its Snowball stem is the stem of such a
word: the lists miss many inflected forms ("gracias", "molestias", "escribirnos"), which the
stem brings back without a list of forms. Acronyms that turn up in running text now and then
("rma", "puk", "seur") stay below the frequency and stem to nothing ordinary. A shipped list
was preferred to one written for the project: ten thousand words per language, counted on real
text, cost nothing to keep up to date.
"""

from __future__ import annotations

import gzip
import json
import threading
from functools import cache
from importlib import resources
from typing import Final

from .stems import stem, stems

MIN_FREQUENCY: Final = 1000
LANGUAGES: Final = frozenset({"es", "en"})
# Shorter words are matched as written only: a two- or three-letter acronym could share the
# stem of an ordinary word.
_MIN_STEMMED_LENGTH: Final = 4
_lock = threading.Lock()


@cache
def _ordinary_words(lang: str) -> frozenset[str]:
    data = resources.files("spellchecker").joinpath("resources", f"{lang}.json.gz").read_bytes()
    frequencies: dict[str, int] = json.loads(gzip.decompress(data))
    return frozenset(word for word, count in frequencies.items() if count >= MIN_FREQUENCY)


@cache
def _ordinary_stems(lang: str) -> frozenset[str]:
    return frozenset(stems(_ordinary_words(lang), lang))


def ordinary_words(lang: str) -> frozenset[str]:
    """Lower-case ordinary words of `lang` (empty for languages without a list)."""
    if lang not in LANGUAGES:
        return frozenset()
    with _lock:  # read each list once, even when two checks start together
        _ordinary_stems(lang)
        return _ordinary_words(lang)


def is_ordinary_word(word: str, lang: str) -> bool:
    """Whether `word` (any case) is an ordinary word of `lang`, in any inflection."""
    lowered = word.lower()
    words = ordinary_words(lang)
    if lowered in words:
        return True
    if not words or len(lowered) < _MIN_STEMMED_LENGTH:
        return False
    return stem(lowered, lang) in _ordinary_stems(lang)
