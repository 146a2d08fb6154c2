"""English sentiment: VADER (MIT licence) plus the project's hand-written additions.

VADER's rules run in ``vader.py`` (the same figures as the package's analyser, faster).

VADER's own lexicon is kept; ``en_additions.tsv`` adds customer-care vocabulary it lacks
("refund", "unacceptable"…) and phrases ("not working", "still waiting"). VADER only scores single
words and a few built-in idioms, so each phrase is rewritten to a synthetic single token that
carries the phrase's valence before VADER sees the text.

Emoji: VADER replaces emoji by their English descriptions, and many descriptions carry no
valence ("pouting face" for 😡). The project's emoji table is used instead, so English and
Spanish posts score emoji the same way.
"""

from __future__ import annotations

import re

from shared.text.tokens import EMOJI_RE

from .lexicon import load_lexicon
from .vader import VaderScorer, vader_lexicon

# Skin tones and the emoji variation selector, removed so "👍🏽" scores like "👍".
_EMOJI_DECORATION_RE = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")

# Letters only: VADER strips punctuation around tokens, so the placeholder must survive it.
_PHRASE_TOKEN_PREFIX = "zzqphrase"


class EnglishSentimentAnalyser:
    """VADER compound score in -1..1 with project additions."""

    def __init__(self, emoji: dict[str, float]) -> None:
        # Emoji are scored from our table (as standalone tokens), not by their descriptions.
        additions = load_lexicon("en_additions.tsv", fold_accents=False)
        lexicon = vader_lexicon()
        lexicon.update(additions.words)
        lexicon.update({key: valence for key, valence in emoji.items() if not key.isascii()})
        self._phrase_tokens: dict[str, str] = {}
        for number, (phrase, valence) in enumerate(sorted(additions.phrases.items())):
            token = f"{_PHRASE_TOKEN_PREFIX}{_letters(number)}"
            lexicon[token] = valence
            self._phrase_tokens[phrase] = token
        self._phrase_re: re.Pattern[str] | None = None
        if self._phrase_tokens:
            # Longest phrases first so that "not working at all" wins over "not working".
            alternatives = sorted(self._phrase_tokens, key=len, reverse=True)
            pattern = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in alternatives)
            self._phrase_re = re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE)
        self.size = len(additions)
        self.scorer = VaderScorer(lexicon)

    def _rewrite(self, text: str) -> str:
        """Turn emoji into standalone tokens and known phrases into their placeholder tokens."""
        # VADER's negations are spelt with a straight apostrophe ("don't"); phones type "’".
        text = text.replace("’", "'")
        if not text.isascii():  # emoji are never ASCII: most posts skip the emoji pattern
            text = str(
                EMOJI_RE.sub(lambda m: " " + _EMOJI_DECORATION_RE.sub("", m.group()) + " ", text)
            )
        if self._phrase_re is None:
            return text
        return self._phrase_re.sub(
            lambda m: self._phrase_tokens[" ".join(m.group().lower().split())], text
        )

    def polarity(self, text: str) -> float:
        return self.polarity_parts(text)[0]

    def polarity_parts(self, text: str) -> tuple[float, float, float]:
        """VADER's compound score and its positive and negative proportions (0..1)."""
        return self.scorer.scores(self._rewrite(text))


def _letters(number: int) -> str:
    """Encode a number with letters only ("a", "b", … "ba"), as VADER tokens must be words."""
    digits = "abcdefghijklmnopqrstuvwxyz"
    out = digits[number % 26]
    while number >= 26:
        number //= 26
        out = digits[number % 26] + out
    return out
