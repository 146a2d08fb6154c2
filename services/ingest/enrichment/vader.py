"""VADER's scoring rules, re-implemented for speed over VADER's own lexicon.

Why not call ``vaderSentiment.SentimentIntensityAnalyzer.polarity_scores``: it was most of the
cost of an English post (about 140 of 200 µs on one core). Per call it rebuilds the text
character by character to replace emoji (the project scores emoji itself, so that step never
changes anything here), lower-cases every word again for each rule that looks at it (several
times per word: the negation and idiom checks rebuild the whole lower-cased list for every
sentiment word) and builds a dict of rounded figures. This module applies the same rules in the
same order, with the same float operations, on one lower-cased token list per text, so it gives
the same numbers at a fraction of the cost.

How equivalence is kept: ``tests/ingest/test_sentiment_vader.py`` scores thousands of texts
(the project's posts in both languages, hand-written cases for every rule: boosters, "kind of",
negations and "n't", "no", "least", "never so", "without doubt", "but", capitals, ! and ?,
emoticons, emoji, idioms, and seeded random word salads of all of these) with both this scorer
and the package's analyser over the same lexicon, and requires identical compound, positive and
negative figures. ``bench/sentiment.py`` prints both timings side by side.

Lexicon and rules: VADER (Hutto & Gilbert, 2014), MIT licence, © C.J. Hutto; the lexicon is
read from the installed ``vaderSentiment`` package (its ``LICENSE.txt`` ships with it), which
stays a dependency for that file and for the equivalence test.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from typing import Final

from vaderSentiment import vaderSentiment as _vader

B_INCR: Final = _vader.B_INCR
C_INCR: Final = _vader.C_INCR
N_SCALAR: Final = _vader.N_SCALAR
BOOSTERS: Final[dict[str, float]] = dict(_vader.BOOSTER_DICT)
SPECIAL_CASES: Final[dict[str, float]] = dict(_vader.SPECIAL_CASES)
NEGATIONS: Final = frozenset(_vader.NEGATE)
_PUNCTUATION: Final = string.punctuation
# Every word of a multi-word idiom or booster: the idiom check can only change a valence when
# one of them is near the word, so it is skipped otherwise.
_IDIOM_WORDS: Final = frozenset(
    word for phrase in (*SPECIAL_CASES, *BOOSTERS) if " " in phrase for word in phrase.split()
)


def vader_lexicon() -> dict[str, float]:
    """A fresh copy of VADER's own word → valence lexicon, as the package reads it."""
    return dict(_vader.SentimentIntensityAnalyzer().lexicon)


def _tokens(text: str) -> list[str]:
    """VADER's tokens: split on white space, punctuation stripped unless that leaves ≤ 2 chars."""
    out = []
    for token in text.split():
        stripped = token.strip(_PUNCTUATION)
        out.append(token if len(stripped) <= 2 else stripped)
    return out


def _negated(word: str) -> bool:
    return word in NEGATIONS or "n't" in word


class VaderScorer:
    """VADER's compound, positive and negative figures (as ``polarity_scores`` rounds them).

    Emoji are not replaced by descriptions (the caller scores them through the lexicon).
    """

    def __init__(self, lexicon: Mapping[str, float]) -> None:
        self.lexicon: dict[str, float] = dict(lexicon)

    def scores(self, text: str) -> tuple[float, float, float]:
        """(compound, pos, neg), rounded to 4, 3 and 3 places like VADER's dict."""
        text = text.strip()
        words = _tokens(text)
        lowers = [w.lower() for w in words]
        count = len(words)
        upper = [w.isupper() for w in words]
        capitals = sum(upper)
        is_cap_diff = 0 < count - capitals < count
        lexicon = self.lexicon
        in_lexicon = [w in lexicon for w in lowers]
        sentiments: list[float] = []
        append = sentiments.append
        for i, lower in enumerate(lowers):
            if lower in BOOSTERS:
                append(0)
                continue
            if lower == "kind" and i < count - 1 and lowers[i + 1] == "of":
                append(0)
                continue
            if not in_lexicon[i]:
                append(0)
                continue
            append(self._valence(i, lowers, upper, in_lexicon, is_cap_diff))

        if "but" in lowers:
            _but_check(lowers.index("but"), sentiments)
        return _score(sentiments, text)

    def _valence(
        self,
        i: int,
        lowers: list[str],
        upper: list[bool],
        in_lexicon: list[bool],
        is_cap_diff: bool,
    ) -> float:
        lexicon = self.lexicon
        lower = lowers[i]
        valence = lexicon[lower]
        if lower == "no" and i != len(lowers) - 1 and in_lexicon[i + 1]:
            valence = 0.0
        if (
            (i > 0 and lowers[i - 1] == "no")
            or (i > 1 and lowers[i - 2] == "no")
            or (i > 2 and lowers[i - 3] == "no" and lowers[i - 1] in ("or", "nor"))
        ):
            valence = lexicon[lower] * N_SCALAR
        if upper[i] and is_cap_diff:
            if valence > 0:
                valence += C_INCR
            else:
                valence -= C_INCR

        for start_i in range(3):
            j = i - (start_i + 1)
            if i > start_i and not in_lexicon[j]:
                previous = lowers[j]
                scalar = BOOSTERS.get(previous)
                if scalar is not None:
                    if valence < 0:
                        scalar *= -1
                    if upper[j] and is_cap_diff:
                        if valence > 0:
                            scalar += C_INCR
                        else:
                            scalar -= C_INCR
                    if start_i == 1 and scalar != 0:
                        scalar = scalar * 0.95
                    if start_i == 2 and scalar != 0:
                        scalar = scalar * 0.9
                    valence = valence + scalar
                else:
                    valence = valence + 0.0
                valence = _negation_check(valence, lowers, start_i, i)
                if start_i == 2:
                    valence = _idioms_check(valence, lowers, i)

        # "least" as a negation ("the least good"), not "at least" / "very least".
        if i > 1 and not in_lexicon[i - 1] and lowers[i - 1] == "least":
            if lowers[i - 2] != "at" and lowers[i - 2] != "very":
                valence = valence * N_SCALAR
        elif i > 0 and not in_lexicon[i - 1] and lowers[i - 1] == "least":
            valence = valence * N_SCALAR
        return valence


def _negation_check(valence: float, lowers: list[str], start_i: int, i: int) -> float:
    if start_i == 0:
        if _negated(lowers[i - 1]):
            valence = valence * N_SCALAR
    elif start_i == 1:
        if lowers[i - 2] == "never" and (lowers[i - 1] == "so" or lowers[i - 1] == "this"):
            valence = valence * 1.25
        elif lowers[i - 2] == "without" and lowers[i - 1] == "doubt":
            pass
        elif _negated(lowers[i - 2]):
            valence = valence * N_SCALAR
    else:
        # VADER's own precedence: (never and so|this two back) or so|this just before.
        if (
            lowers[i - 3] == "never"
            and (lowers[i - 2] == "so" or lowers[i - 2] == "this")
            or (lowers[i - 1] == "so" or lowers[i - 1] == "this")
        ):
            valence = valence * 1.25
        elif lowers[i - 3] == "without" and (lowers[i - 2] == "doubt" or lowers[i - 1] == "doubt"):
            pass
        elif _negated(lowers[i - 3]):
            valence = valence * N_SCALAR
    return valence


def _idioms_check(valence: float, lowers: list[str], i: int) -> float:
    """VADER's special-case idioms around word `i` (i ≥ 3) and the "kind of" boosters."""
    window = lowers[i - 3 : i + 3]
    if not any(word in _IDIOM_WORDS for word in window):
        return valence
    onezero = f"{lowers[i - 1]} {lowers[i]}"
    twoonezero = f"{lowers[i - 2]} {lowers[i - 1]} {lowers[i]}"
    twoone = f"{lowers[i - 2]} {lowers[i - 1]}"
    threetwoone = f"{lowers[i - 3]} {lowers[i - 2]} {lowers[i - 1]}"
    threetwo = f"{lowers[i - 3]} {lowers[i - 2]}"
    for sequence in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if sequence in SPECIAL_CASES:
            valence = SPECIAL_CASES[sequence]
            break
    if len(lowers) - 1 > i:
        zeroone = f"{lowers[i]} {lowers[i + 1]}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if len(lowers) - 1 > i + 1:
        zeroonetwo = f"{lowers[i]} {lowers[i + 1]} {lowers[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTERS:
            valence = valence + BOOSTERS[n_gram]
    return valence


def _but_check(but_index: int, sentiments: list[float]) -> None:
    """VADER's "but" rule, quirks included: each value rescales the *first* equal value."""
    for position in range(len(sentiments)):
        sentiment = sentiments[position]
        first = sentiments.index(sentiment)
        if first < but_index:
            sentiments[first] = sentiment * 0.5
        elif first > but_index:
            sentiments[first] = sentiment * 1.5


def _score(sentiments: list[float], text: str) -> tuple[float, float, float]:
    if not sentiments:
        return 0.0, 0.0, 0.0
    sum_s = float(sum(sentiments))
    exclamations = min(text.count("!"), 4)
    emphasis = exclamations * 0.292
    questions = text.count("?")
    if questions > 1:
        emphasis = emphasis + (questions * 0.18 if questions <= 3 else 0.96)
    else:
        emphasis = emphasis + 0
    if sum_s > 0:
        sum_s += emphasis
    elif sum_s < 0:
        sum_s -= emphasis
    compound = sum_s / math.sqrt((sum_s * sum_s) + 15)
    compound = max(-1.0, min(1.0, compound))

    pos_sum = 0.0
    neg_sum = 0.0
    neutral = 0
    for sentiment in sentiments:
        if sentiment > 0:
            pos_sum += float(sentiment) + 1
        if sentiment < 0:
            neg_sum += float(sentiment) - 1
        if sentiment == 0:
            neutral += 1
    if pos_sum > math.fabs(neg_sum):
        pos_sum += emphasis
    elif pos_sum < math.fabs(neg_sum):
        neg_sum -= emphasis
    total = pos_sum + math.fabs(neg_sum) + neutral
    return (
        round(compound, 4),
        round(math.fabs(pos_sum / total), 3),
        round(math.fabs(neg_sum / total), 3),
    )
