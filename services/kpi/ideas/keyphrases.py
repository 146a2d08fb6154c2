"""Keyphrases of a short post, in Spanish and English, without any model download.

A post becomes its content words (stopwords of the `stop-words` package plus the words people
use to frame a suggestion, "sugerencia", "would be great"), stemmed with Snowball (PyStemmer) so
"oscuro"/"oscura" or "payment"/"payments" meet, accents folded after stemming. The phrases are
those stems alone and every two adjacent ones; each keeps the words it was written with, so a
theme reads "modo oscuro", not "oscur". Pure and deterministic.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import Stemmer  # type: ignore[import-not-found, unused-ignore]
from stop_words import get_stop_words  # type: ignore[import-untyped, unused-ignore]

from shared.text.tokens import EMOJI_RE, MENTION_RE, URL_RE, WORD_RE

LANGUAGES = ("es", "en")
_STEMMERS = {"es": "spanish", "en": "english"}
# Words that frame an idea rather than say what it is about (in every idea, so never a theme).
_FRAMING = {
    "es": (
        "idea ideas sugerencia sugerencias sugiero propuesta propongo propuesta estaría estaria "
        "genial sería seria guay ojalá ojala podríais podriais podrían podrian podrías podrias "
        "añadir añadid añadan poner pongan poned incluir incluyan incluid tener tuviera tuvieran "
        "hubiera favor porfa gustaría gustaria encantaría encantaria molaría molaria bien "
        "vendría vendria mejor opción opcion posibilidad deberíais deberiais deberían deberian "
        "app aplicación aplicacion gracias hola"
    ),
    "en": (
        "idea ideas suggestion suggestions suggest propose proposal would could should great "
        "nice awesome love add adding please pls option possibility wish hope maybe really "
        "feature app thanks hi hello guys consider"
    ),
}
_MIN_LETTERS = 3
_ACCENTS = str.maketrans("áéíóúàèìòùäëïöüâêîôû", "aeiouaeiouaeiouaeiou")


@dataclass(frozen=True, slots=True)
class Keyphrase:
    """One phrase of a post: `key` (stems, accent-folded, space-joined) and its written form."""

    key: str
    surface: str

    @property
    def words(self) -> int:
        return self.key.count(" ") + 1


@lru_cache(maxsize=4)
def _stopwords(lang: str) -> frozenset[str]:
    words = {word.lower() for word in get_stop_words(lang)}
    words.update(_FRAMING[lang].split())
    words.update(word.translate(_ACCENTS) for word in list(words))
    return frozenset(words)


@lru_cache(maxsize=4)
def _stemmer(lang: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(_STEMMERS[lang])


def _fold(word: str) -> str:
    return unicodedata.normalize("NFC", word).translate(_ACCENTS)


def keyphrases(text: str, lang: str | None) -> list[Keyphrase]:
    """The distinct keyphrases of `text` (unigrams and adjacent bigrams), in order of first use.

    A language other than es/en (or none) uses both stopword lists and the English stemmer,
    so mixed or undetected posts still group with their neighbours."""
    languages = (lang,) if lang in LANGUAGES else LANGUAGES
    stop = frozenset().union(*(_stopwords(code) for code in languages))
    stemmer = _stemmer(languages[0])
    cleaned = EMOJI_RE.sub(" ", MENTION_RE.sub(" ", URL_RE.sub(" ", text)))
    runs: list[list[tuple[str, str]]] = [[]]
    for match in WORD_RE.finditer(cleaned.replace("#", " ")):
        word = match.group().lower().strip("'’")
        if len(word) < _MIN_LETTERS or word in stop or _fold(word) in stop:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((_fold(stemmer.stemWord(word)), word))
    found: dict[str, str] = {}
    for run in runs:
        for index, (stem, word) in enumerate(run):
            found.setdefault(stem, word)
            if index + 1 < len(run):
                next_stem, next_word = run[index + 1]
                if next_stem != stem:
                    found.setdefault(f"{stem} {next_stem}", f"{word} {next_word}")
    return [Keyphrase(key, surface) for key, surface in found.items()]
