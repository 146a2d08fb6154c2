"""Snowball stems of Spanish and English words, for rules that match every inflection.

``snowballstemmer`` (BSD licence) runs the Snowball project's stemmers, through PyStemmer's C
code when it is installed and in pure Python otherwise: no model, no download, microseconds a
word. A stemmer holds state while it works and must not be called from two threads at once;
checks run in worker threads, so each thread gets its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import snowballstemmer  # type: ignore[import-untyped, unused-ignore]

ALGORITHMS = {"es": "spanish", "en": "english"}
_local = threading.local()


def _stemmer(lang: str) -> snowballstemmer.stemmer:
    stemmers: dict[str, snowballstemmer.stemmer] | None = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    found = stemmers.get(lang)
    if found is None:
        found = stemmers[lang] = snowballstemmer.stemmer(ALGORITHMS.get(lang, "porter"))
    return found


def stem(word: str, lang: str) -> str:
    """The stem of a lower-case `word` of `lang` (Porter's English stemmer for other languages)."""
    return str(_stemmer(lang).stemWord(word))


def stems(words: Iterable[str], lang: str) -> list[str]:
    """The stems of lower-case `words`, in order."""
    return [str(s) for s in _stemmer(lang).stemWords(list(words))]
