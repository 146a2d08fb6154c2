"""Analysis of the text under check, computed lazily and at most once per check.

Every rule reads the same ``Document``: tokens, sentences, URLs, emoji, readability counts.
Offsets are Python string indices (code points) into the original text.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Generic, TypeVar, overload

import regex

from shared.pii import PiiMatch, find_pii

TOKEN_RE = re.compile(r"\w+")
# Accented Latin letters to their base letter (ñ stays: it is a letter of its own).
_FOLD_TABLE = str.maketrans(
    "áàâäãåéèêëíìîïóòôöõúùûüýÿçÁÀÂÄÃÅÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÝÇ",
    "aaaaaaeeeeiiiiooooouuuuyycAAAAAAEEEEIIIIOOOOOUUUUYC",
)
_JOINABLE_GAP = re.compile(r"[ \t\u00a0\-'’]{1,3}")
_JOINABLE_CHARS = frozenset(" \t\u00a0-'’")
_SENTENCE_END = re.compile(r"[.!?…]+(?=[\s\"')»]|$)|\n")
_LEADING_SPACE = re.compile(r"\s*")
URL_RE = re.compile(
    r"(?:https?://|www\.)[^\s<>\"]+"
    r"|(?<![\w@.])(?:[a-z0-9-]+\.)+(?:com|es|net|org|io|ly|co|me|gl|at|to|info|app|shop|store"
    r"|eu|uk|us|mx|ar|cl|pe|gd|cc|link)\b(?:/[^\s<>\"]*)?",
    re.I,
)
_URL_TRAILING = ".,;:!?)]}»\"'"
HASHTAG_RE = re.compile(r"(?<![\w#&])#\w+")
EMOJI_RE = regex.compile(
    r"[\U0001F1E6-\U0001F1FF]{2}|[#*0-9]\uFE0F?\u20E3"
    r"|(?:(?=[\u2000-\U0010FFFF])\p{Extended_Pictographic}|\p{Extended_Pictographic}\uFE0F)"
    r"(?:\uFE0F|[\U0001F3FB-\U0001F3FF])?"
    r"(?:\u200D\p{Extended_Pictographic}\uFE0F?[\U0001F3FB-\U0001F3FF]?)*"
)
# Code points that can start an emoji sequence (a cheap test before the Unicode-aware regex).
_HAS_EMOJI_CANDIDATE = re.compile(
    "[\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u23ff\u24c2\u25aa-\u27bf"
    "\u2934\u2935\u2b05-\u2b55\u3030\u303d\u3297\u3299\ufe0f\U0001f000-\U0001faff]"
)
# A dot between word characters or '://': the only places a URL can be, so the URL regex
# runs on the few whitespace-delimited chunks around them instead of the whole text.
_URL_HINT = re.compile(r"\w\.\w|://")
_WHITESPACE = re.compile(r"\s")

_ES_VOWELS = frozenset("aeiouáéíóúü")
_ES_STRONG = frozenset("aeoáéóíú")  # accented i/u break diphthongs (hiatus)
_EN_VOWEL_GROUP = re.compile(r"[aeiouy]+")


@lru_cache(maxsize=65536)
def spanish_syllables(word: str) -> int:
    """Count the syllables of a lowercase Spanish word (vowel nuclei with hiatus rules)."""
    count = 0
    previous = ""
    length = len(word)
    for index, char in enumerate(word):
        if char not in _ES_VOWELS:
            previous = ""
            continue
        # 'u' is silent in que/qui/gue/gui.
        if char == "u" and index and word[index - 1] in "qg" and index + 1 < length:
            if word[index + 1] in "eiéí":
                continue
        if not previous or (previous in _ES_STRONG and char in _ES_STRONG):
            count += 1
        previous = char
    return max(count, 1)


@lru_cache(maxsize=65536)
def english_syllables(word: str) -> int:
    """Estimate the syllables of a lowercase English word (vowel groups, silent final e)."""
    groups = len(_EN_VOWEL_GROUP.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and groups > 1:
        groups -= 1
    if word.endswith("ed") and len(word) > 3 and word[-3] not in "td" and groups > 1:
        groups -= 1
    return max(groups, 1)


@lru_cache(maxsize=65536)
def fold_accents(text: str) -> str:
    """Lowercase and drop diacritics (cabrón -> cabron); ñ stays, it is a letter (daños)."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("ñ", "\x00"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("\x00", "ñ")


def find_urls(text: str) -> list[tuple[int, int, str]]:
    """Return (start, end, url) for every link, trailing punctuation excluded."""
    found: list[tuple[int, int, str]] = []
    chunk_end = -1
    for hint in _URL_HINT.finditer(text):
        if hint.start() < chunk_end:
            continue
        chunk_start = max(text.rfind(c, 0, hint.start()) for c in " \n\t") + 1
        space = _WHITESPACE.search(text, hint.end())
        chunk_end = space.start() if space else len(text)
        for match in URL_RE.finditer(text, chunk_start, chunk_end):
            url = match.group().rstrip(_URL_TRAILING)
            found.append((match.start(), match.start() + len(url), url))
    return found


_HEAVY_CHAR = re.compile(r"[^\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")
_X_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
X_URL_WEIGHT = 23


def _x_char_weight(char: str) -> int:
    code = ord(char)
    for low, high in _X_LIGHT_RANGES:
        if low <= code <= high:
            return 1
    return 2


def x_weighted_length(
    text: str, urls: list[tuple[int, int, str]] | None = None
) -> tuple[int, int | None]:
    """Return (weighted length, index where 280 is first exceeded) as X/twitter-text v3 counts.

    URLs count 23; each emoji sequence 2; code points outside the light ranges (CJK, ...) 2;
    the rest 1. Counted on the NFC form; the index refers to it (same as the input for the
    usual, already-composed text).
    """
    if unicodedata.is_normalized("NFC", text):
        normalized = text
    else:
        normalized = unicodedata.normalize("NFC", text)
    # Fast path: the count is the length plus adjustments for URLs, emoji and heavy
    # characters; the walk below is only needed to locate the overflow.
    total = len(normalized)
    if urls is None or normalized != text:
        urls = find_urls(normalized) if "." in normalized else []
    for start, end, _url in urls:
        total += X_URL_WEIGHT - (end - start)
    emoji_spans = []
    if _HAS_EMOJI_CANDIDATE.search(normalized):
        url_starts = {start for start, _end, _url in urls}
        emoji_spans = [m.span() for m in EMOJI_RE.finditer(normalized)]
        for start, end in emoji_spans:
            if start not in url_starts:
                total += 2 - (end - start)
        total -= sum(
            _x_char_weight(char) - 1 for start, end in emoji_spans for char in normalized[start:end]
        )
    heavy = _HEAVY_CHAR.findall(normalized)
    if heavy:
        total += sum(_x_char_weight(char) - 1 for char in heavy)
    if total <= 280:
        return total, None
    special: dict[int, tuple[int, int]] = {}
    for start, end, _url in find_urls(normalized):
        special[start] = (end, X_URL_WEIGHT)
    if _HAS_EMOJI_CANDIDATE.search(normalized):
        for match in EMOJI_RE.finditer(normalized):
            if match.start() not in special:
                special[match.start()] = (match.end(), 2)
    total = 0
    overflow_at: int | None = None
    index = 0
    length = len(normalized)
    while index < length:
        jump = special.get(index)
        if jump is not None:
            index_end, weight = jump
        else:
            index_end, weight = index + 1, _x_char_weight(normalized[index])
        total += weight
        if overflow_at is None and total > 280:
            overflow_at = index
        index = index_end
    return total, overflow_at


_Value = TypeVar("_Value")


class cached_property(Generic[_Value]):  # noqa: N801 - a drop-in for functools.cached_property
    """``functools.cached_property`` without its lock (Python 3.11 takes an RLock on every
    first access, which costs more than most of the values computed here)."""

    def __init__(self, compute: Callable[[Any], _Value]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached_property[_Value]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _Value: ...

    def __get__(
        self, instance: object | None, owner: type | None = None
    ) -> _Value | cached_property[_Value]:
        if instance is None:
            return self
        value = self.compute(instance)
        instance.__dict__[self.name] = value  # later reads skip this descriptor
        return value


# Per word, for English (False) and Spanish (True): (is a word, syllables, characters,
# polysyllabic, long). Words recur across texts, so they are counted once.
_WordCounts = tuple[int, int, int, int, int]
_WORD_COUNTS: dict[bool, dict[str, _WordCounts]] = {False: {}, True: {}}


def _word_counts(word: str, lang: str, cache: dict[str, _WordCounts]) -> _WordCounts:
    if word.isdigit():  # numbers are not words for readability formulas
        counts: _WordCounts = (0, 0, 0, 0, 0)
    else:
        syllables = spanish_syllables(word) if lang == "es" else english_syllables(word)
        counts = (1, syllables, len(word), int(syllables >= 3), int(len(word) > 6))
    if len(cache) < 100_000:
        cache[word] = counts
    return counts


class Document:
    """The text under check and everything rules derive from it, computed on first use."""

    __slots__ = ("text", "lang", "channel", "__dict__")

    def __init__(self, text: str, lang: str, channel: str | None = None) -> None:
        self.text = text
        self.lang = lang
        self.channel = channel

    @cached_property
    def words(self) -> list[str]:
        """The lowercase ``\\w+`` words, in order (aligned with ``tokens``)."""
        lowered = self.text.lower()
        if len(lowered) == len(self.text):
            return TOKEN_RE.findall(lowered)
        return [word.lower() for word in TOKEN_RE.findall(self.text)]

    @cached_property
    def tokens(self) -> list[tuple[int, int, str]]:
        """(start, end, lowercase word) for every word; built only when offsets are needed."""
        # (start, end) + (word,) per match, all in C: this list is built on many checks.
        spans = map(re.Match.span, TOKEN_RE.finditer(self.text))
        return list(map(operator.add, spans, zip(self.words)))

    def joinable(self, index: int) -> bool:
        """True when token ``index`` continues the phrase of token ``index - 1``: only spaces,
        a hyphen or an apostrophe between them (not a comma or a full stop)."""
        gap_start = self.tokens[index - 1][1]
        gap_end = self.tokens[index][0]
        if gap_end - gap_start == 1:
            return self.text[gap_start] in _JOINABLE_CHARS
        return _JOINABLE_GAP.fullmatch(self.text, gap_start, gap_end) is not None

    @cached_property
    def word_set(self) -> frozenset[str]:
        """The lowercase words of the text."""
        return frozenset(self.words)

    @cached_property
    def folded_word_set(self) -> frozenset[str]:
        """The distinct words with accents removed."""
        accented = [word for word in self.word_set if not word.isascii()]
        if not accented:
            return self.word_set
        return self.word_set.difference(accented).union(map(fold_accents, accented))

    @cached_property
    def folded_words(self) -> list[str]:
        """``words`` with accents removed (aligned with ``tokens``)."""
        if self.text.isascii():
            return self.words
        # One C-level translation of the whole text; it keeps lengths, so words stay aligned.
        return TOKEN_RE.findall(self.text.lower().translate(_FOLD_TABLE))

    @cached_property
    def sentences(self) -> list[tuple[int, int]]:
        """(start, end) of every sentence: up to . ! ? … (before a space or the end) or a
        line break, leading whitespace excluded."""
        text = self.text
        spans = []
        start = 0
        for boundary in _SENTENCE_END.finditer(text):
            end = boundary.end() if boundary.group() != "\n" else boundary.start()
            first = _LEADING_SPACE.match(text, start, end)
            begin = first.end() if first else start
            if begin < end:
                spans.append((begin, end))
            start = boundary.end()
        first = _LEADING_SPACE.match(text, start)
        begin = first.end() if first else start
        if begin < len(text):
            spans.append((begin, len(text)))
        return spans

    @cached_property
    def paragraphs(self) -> list[tuple[int, int]]:
        """(start, end) of every paragraph (blocks separated by blank lines)."""
        text = self.text
        if "\n" not in text:  # the usual reply: one paragraph
            stripped = text.strip()
            if not stripped:
                return []
            start = text.index(stripped[0])
            return [(start, start + len(stripped))]
        spans = []
        for match in re.finditer(r"\S(?:.*?)(?=\n\s*\n|\Z)", text, re.S):
            spans.append((match.start(), match.end()))
        return spans

    @cached_property
    def urls(self) -> list[tuple[int, int, str]]:
        """(start, end, url) of every link."""
        if "." not in self.text:
            return []
        return find_urls(self.text)

    @cached_property
    def hashtags(self) -> list[tuple[int, int]]:
        """(start, end) of every hashtag."""
        if "#" not in self.text:
            return []
        return [(m.start(), m.end()) for m in HASHTAG_RE.finditer(self.text)]

    @cached_property
    def emoji(self) -> list[tuple[int, int]]:
        """(start, end) of every emoji sequence."""
        if not _HAS_EMOJI_CANDIDATE.search(self.text):
            return []
        return [(m.start(), m.end()) for m in EMOJI_RE.finditer(self.text)]

    @cached_property
    def pii(self) -> list[PiiMatch]:
        """Personal data found in the text."""
        return find_pii(self.text)

    @cached_property
    def word_count(self) -> int:
        """Number of words (digits-only tokens excluded), as the metric formulas count them."""
        return len(self.words) - sum(map(str.isdigit, self.words))

    @cached_property
    def sentence_word_counts(self) -> list[int]:
        """Word count of each sentence, in ``sentences`` order."""
        text = self.text
        counts = []
        for start, end in self.sentences:
            words = TOKEN_RE.findall(text, start, end)
            counts.append(len(words) - sum(map(str.isdigit, words)))
        return counts

    @cached_property
    def memo(self) -> dict[str, object]:
        """Per-check scratch space for kinds that share derived data (formality markers)."""
        return {}

    @cached_property
    def stats(self) -> dict[str, float]:
        """Counts for metric formulas (Vale names) and the readability indexes."""
        cache = _WORD_COUNTS[self.lang == "es"]
        get = cache.get
        rows = [get(word) or _word_counts(word, self.lang, cache) for word in self.words]
        # Column sums in C: (is a word, syllables, characters, polysyllabic, long).
        word_count, syllable_count, characters, polysyllabic, long_words = (
            map(sum, zip(*rows, strict=True)) if rows else (0, 0, 0, 0, 0)
        )
        sentence_count = max(len(self.sentences), 1)
        stats: dict[str, float] = {
            "words": word_count,
            "sentences": sentence_count,
            "syllables": syllable_count,
            "characters": characters,
            "text_length": len(self.text),
            "paragraphs": max(len(self.paragraphs), 1),
            "polysyllabic_words": polysyllabic,
            "complex_words": polysyllabic,
            "long_words": long_words,
        }
        if word_count:
            per_word = syllable_count / word_count
            per_sentence = word_count / sentence_count
            stats["flesch_reading_ease"] = 206.835 - 1.015 * per_sentence - 84.6 * per_word
            stats["fernandez_huerta"] = (
                206.84 - 0.60 * (100 * per_word) - 1.02 * (100 * sentence_count / word_count)
            )
            stats["szigriszt_pazos"] = 206.835 - 62.3 * per_word - per_sentence
        else:
            stats["flesch_reading_ease"] = stats["fernandez_huerta"] = 100.0
            stats["szigriszt_pazos"] = 100.0
        return stats


class WordPhrases:
    """A set of literal phrases matched word by word against ``Document.words``.

    Cheaper than a regex alternation: one dict lookup per word of the text. Matching is
    case-insensitive and ignores the punctuation between words.
    """

    __slots__ = ("by_first", "first_words")

    def __init__(self, phrases: list[str]) -> None:
        self.by_first: dict[str, list[tuple[str, ...]]] = {}
        self.first_words: frozenset[str] = frozenset()
        for phrase in phrases:
            words = tuple(TOKEN_RE.findall(phrase.lower()))
            if words and words not in self.by_first.get(words[0], []):
                self.by_first.setdefault(words[0], []).append(words)
        for candidates in self.by_first.values():
            candidates.sort(key=lambda words: -len(words))
        self.first_words = frozenset(self.by_first)

    def find(self, doc: Document, *, first_only: bool = False) -> list[tuple[int, int]]:
        """(first word index, last word index) of each occurrence, left to right."""
        present = self.first_words.intersection(doc.word_set)
        if not present:
            return []
        words = doc.words
        # Where each present first word occurs, found by list.index (in C).
        starts: list[int] = []
        for first in present:
            position = words.index(first)
            while True:
                starts.append(position)
                try:
                    position = words.index(first, position + 1)
                except ValueError:
                    break
        starts.sort()
        found: list[tuple[int, int]] = []
        covered = -1
        for index in starts:
            if index <= covered:
                continue
            for phrase in self.by_first[words[index]]:
                size = len(phrase)
                if size == 1 or tuple(words[index : index + size]) == phrase:
                    found.append((index, index + size - 1))
                    if first_only:
                        return found
                    covered = index + size - 1
                    break
        return found


_CAPITALISED_WORD = re.compile(r"[A-ZÁÉÍÓÚÑÜ]{2,}")
_WORD_BEFORE = re.compile(r"([^\W\d_]+)[^\w]{1,3}$")
_WORD_AFTER = re.compile(r"^[^\w]{1,3}([^\W\d_]+)")


def in_capitals_run(text: str, start: int, end: int) -> bool:
    """True when the word before or after [start, end) is in capitals too."""
    before = _WORD_BEFORE.search(text, max(0, start - 40), start)
    after = _WORD_AFTER.search(text[end : end + 40])
    return any(
        m is not None and _CAPITALISED_WORD.fullmatch(m.group(1)) is not None
        for m in (before, after)
    )
