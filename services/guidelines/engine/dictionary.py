"""Ordinary words of Spanish and English, so that a shouted "HOLA" is not taken for an acronym.

The word lists are the frequency dictionaries that ship with ``pyspellchecker`` (MIT licence),
read directly (no spell checker is built). A word counts as ordinary when it occurs at least
``MIN_FREQUENCY`` times in its language's list: acronyms that turn up in running text now and
then ("rma", "puk") stay below it.
"""

from __future__ import annotations

import gzip
import json
import threading
from functools import cache
from importlib import resources
from typing import Final

MIN_FREQUENCY: Final = 1000
LANGUAGES: Final = frozenset({"es", "en"})
_lock = threading.Lock()


@cache
def _ordinary_words(lang: str) -> frozenset[str]:
    data = resources.files("spellchecker").joinpath("resources", f"{lang}.json.gz").read_bytes()
    frequencies: dict[str, int] = json.loads(gzip.decompress(data))
    return frozenset(word for word, count in frequencies.items() if count >= MIN_FREQUENCY)


def ordinary_words(lang: str) -> frozenset[str]:
    """Lower-case ordinary words of `lang` (empty for languages without a list)."""
    if lang not in LANGUAGES:
        return frozenset()
    with _lock:  # read each list once, even when two checks start together
        return _ordinary_words(lang)


def is_ordinary_word(word: str, lang: str) -> bool:
    return word.lower() in ordinary_words(lang)
