"""Text normalisation shared by language detection and sentiment analysis.

Social posts carry a lot of material that is not language: @mentions, URLs, hashtag marks,
emoji. Both analysers work on a cleaned view of the text, so the rules live in one place.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum
from functools import lru_cache
from typing import NamedTuple

# `regex` (not `re`) for Unicode properties such as \p{Extended_Pictographic}; it ships no stubs.
import regex  # type: ignore[import-untyped, unused-ignore]

# Plain patterns use the faster standard `re`.
URL_RE = re.compile(r"(?:https?://|www\.)\S*", re.IGNORECASE)
MENTION_RE = re.compile(r"(?<![\w@])@\w+")
# One emoji "character" as users see it: a pictograph (or regional-indicator pair) with its
# optional skin tone, variation selector and zero-width-joiner continuations.
EMOJI_SEQUENCE = (
    r"(?:\p{Regional_Indicator}{2}"
    r"|\p{Extended_Pictographic}[\p{Emoji_Modifier}\uFE0F\u20E3]*"
    r"(?:\u200D\p{Extended_Pictographic}[\p{Emoji_Modifier}\uFE0F]*)*)"
)
EMOJI_RE = regex.compile(EMOJI_SEQUENCE)
LETTER_RE = regex.compile(r"\p{L}")
WORD_RE = regex.compile(r"\p{L}[\p{L}\p{M}'’]*")
# Western emoticons; written so that they do not match inside ordinary words or times ("10:30").
EMOTICON = (
    r"(?:<3+"
    r"|(?<![\w])[:;=][-o'^,]?[()\[\]dDpPsSvV/\\|*3oO0]+(?![\w])"
    r"|(?<![\w])[xX][dD]+(?![\w])"
    r"|(?<![\w])(?:-_+-|[uU]\.[uU]|T_+T|\^_*\^)(?![\w]))"
)

_TOKEN_RE = regex.compile(
    rf"(?P<emoji>{EMOJI_SEQUENCE})"
    rf"|(?P<emoticon>{EMOTICON})"
    r"|(?P<word>\p{L}[\p{L}\p{M}]*)"
    r"|(?P<excl>[!¡]+)"
    r"|(?P<quest>[?¿]+)"
    r"|(?P<stop>[.,;:…()\"“”«»\-–—]+)"
)

# Accents are dropped for lexicon look-ups because tweets often omit them ("pesimo"),
# but "ñ" is kept: "año" and "ano" are different words.
_ACCENT_FOLD = str.maketrans("áéíóúàèìòùäëïöüâêîôû", "aeiouaeiouaeiouaeiou")
_REPEATS_RE = re.compile(r"([^\W\d_])\1{2,}")


HASHTAG_RE = re.compile(r"#\w+")
# Hashtags are dropped for language detection when this many words remain without them.
MIN_WORDS_WITHOUT_HASHTAGS = 3


def strip_for_language(text: str) -> str:
    """Remove what misleads a language detector: URLs, @mentions, emoji, extra spaces.

    Hashtags are often English tags on a Spanish post ("#sunglasses #mall"): they are dropped
    when the post has enough other words, otherwise only their '#' is removed.
    """
    text = URL_RE.sub(" ", text)
    text = MENTION_RE.sub(" ", text)
    text = EMOJI_RE.sub(" ", text)
    if "#" in text:
        without_hashtags = HASHTAG_RE.sub(" ", text)
        if count_words(without_hashtags) >= MIN_WORDS_WITHOUT_HASHTAGS:
            text = without_hashtags
        text = text.replace("#", " ")
    return " ".join(text.split())


def count_letters(text: str) -> int:
    return len(LETTER_RE.findall(text))


def count_words(text: str) -> int:
    return len(WORD_RE.findall(text))


def fold(word: str) -> str:
    """Lower-case and drop accents (keeping ñ) so that look-ups tolerate missing tildes."""
    return unicodedata.normalize("NFC", word).lower().translate(_ACCENT_FOLD)


def squeeze_repeats(word: str) -> str:
    """Collapse letters repeated 3+ times ("geniaaaal" → "genial")."""
    return str(_REPEATS_RE.sub(r"\1", word))


class TokenKind(Enum):
    WORD = "word"
    EMOJI = "emoji"
    EMOTICON = "emoticon"
    EXCLAMATION = "excl"
    QUESTION = "quest"
    STOP = "stop"


class Token(NamedTuple):
    """One token of a post: `text` as written, `key` folded for look-ups."""

    kind: TokenKind
    text: str
    key: str
    shouted: bool = False  # written in CAPS (only meaningful for words)
    stretched: bool = False  # letters repeated for emphasis ("graciaaas")


_KIND_BY_GROUP = {kind.value: kind for kind in TokenKind}


_CAMEL_CASE_RE = regex.compile(r"(?<=\p{Ll})(?=\p{Lu})")


@lru_cache(maxsize=65536)
def _word_tokens(raw: str) -> tuple[Token, ...]:
    # Cached: the same words recur constantly and folding them is most of the tokenising cost.
    if not raw.islower() and not raw.isupper() and not raw.istitle():
        # CamelCase hashtags carry words: "#QueDuroEsSerAdulto" → "Que Duro Es Ser Adulto".
        parts = [part for part in _CAMEL_CASE_RE.split(raw) if part]
        if len(parts) > 1:
            return tuple(token for part in parts for token in _word_tokens(part))
    squeezed = squeeze_repeats(raw)
    return (
        Token(
            TokenKind.WORD,
            raw,
            fold(squeezed),
            shouted=len(raw) > 1 and raw.isupper(),
            stretched=squeezed != raw,
        ),
    )


def tokenize(text: str) -> list[Token]:
    """Split a post into words, emoji, emoticons and punctuation, dropping URLs and @mentions."""
    text = URL_RE.sub(" ", text)
    text = MENTION_RE.sub(" ", text)
    tokens: list[Token] = []
    for match in _TOKEN_RE.finditer(text):
        kind = _KIND_BY_GROUP[match.lastgroup or "stop"]
        raw = match.group()
        if kind is TokenKind.WORD:
            tokens.extend(_word_tokens(raw))
        elif kind is TokenKind.EMOJI:
            # Drop skin tones / variation selectors so "👍🏽" finds "👍".
            key = regex.sub(r"[\p{Emoji_Modifier}\uFE0F]", "", raw)
            tokens.append(Token(kind, raw, key))
        elif kind is TokenKind.EMOTICON:
            # ":(((" → ":(", "XDDD" → "xd", "<333" → "<3".
            key = regex.sub(r"(.)\1+", r"\1", raw)
            tokens.append(Token(kind, raw, key.lower() if key[0] in "xX" else key))
        else:
            tokens.append(Token(kind, raw, raw[0]))
    return tokens
