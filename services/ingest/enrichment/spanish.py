"""Rule-based Spanish sentiment analyser over the project's hand-written lexicon.

It follows VADER's approach (sum of word valences adjusted by rules, squashed to -1..1) with
rules for Spanish: negation with negative concord ("no está nada mal" flips once), intensifiers
and the -ísimo superlative, diminishers, "pero"/"sin embargo" contrast, "aunque" concession,
emphasis by CAPS, stretched letters and exclamation marks, laughter ("jajaja") and emoji.
"""

from __future__ import annotations

import math
import re
from typing import Final, NamedTuple

from shared.text.tokens import Token, TokenKind, tokenize

from .lexicon import Lexicon, Modifier, load_lexicon, load_modifiers

# Multiplier applied to a negated valence (VADER uses -0.74): negation flips and weakens.
NEGATION_FACTOR: Final = -0.74
# How many content words after a negator stay in its scope.
NEGATION_SCOPE: Final = 3
# An intensifier reaches the next sentiment word within this many words ("muy pero muy bueno").
INTENSIFIER_SCOPE: Final = 2
# Emphasis multipliers: a word in CAPS within normal text, "graciaaas", "buenísimo".
SHOUT_FACTOR: Final = 1.25
STRETCH_FACTOR: Final = 1.2
SUPERLATIVE_FACTOR: Final = 1.4
# "X pero Y": Y is what the writer means (VADER's weights for "but").
CONTRAST_BEFORE: Final = 0.5
CONTRAST_AFTER: Final = 1.5
# "aunque X": X is conceded, not asserted.
CONCESSIVE_FACTOR: Final = 0.5
# Each "!" (up to 4) pushes the sum away from zero, as in VADER.
EXCLAMATION_BOOST: Final = 0.292
MAX_EXCLAMATIONS: Final = 4
# VADER's normalisation constant: score = s / sqrt(s² + alpha).
ALPHA: Final = 15.0
VALENCE_CACHE_SIZE: Final = 100_000
# Courtesy formulas ("gracias", "un saludo") closing a question are politeness, not praise.
POLITE_REQUEST_FACTOR: Final = 0.3
# Questions assert less than statements; a strong complaint phrased as one stays strong.
QUESTION_FACTOR: Final = 0.8

# Unstressed pronouns and auxiliaries do not use up the negation scope ("no me lo puedo creer").
_SCOPE_TRANSPARENT: Final = frozenset(
    "me te se lo la le nos os les los las ha he has han hemos es son era fue esta estan "
    "estoy estas estaba puedo puede pueden pude pudo".split()
)
# Conjunctions and relatives end a negation's scope ("no puedo … y es muy frustrante").
_SCOPE_BREAKERS: Final = frozenset(
    "y e o u que porque pues cuando donde mientras si ya aunque".split()
)
# Evaluative words that also serve as discourse markers: "Bueno, …", "Vale." carry no opinion.
_DISCOURSE_MARKERS: Final = frozenset({"bueno", "bien", "vale", "venga", "claro", "ok", "okey"})
_LAUGHTER_RE = re.compile(r"^(?:(?:[jh][aeiou]){2,}[jh]?|(?:js)+j?|(?:[aeiou]?j){3,}|ja?j)$")
_SUPERLATIVE_RE = re.compile(r"^([^\W\d_]{2,}?)isim[oa]s?$")
_DIMINUTIVE_RE = re.compile(r"^([^\W\d_]{3,}?)(?:c)?it[oa]s?$")


class Polarity(NamedTuple):
    """What the analyser found: compound score in -1..1 and the valence mass on each side."""

    compound: float
    positive: float
    negative: float


# Token kinds as module constants: looked up for every token.
_WORD: Final = TokenKind.WORD
_STOP: Final = TokenKind.STOP
_EMOJI: Final = TokenKind.EMOJI
_EMOTICON: Final = TokenKind.EMOTICON
_EXCLAMATION: Final = TokenKind.EXCLAMATION
_QUESTION: Final = TokenKind.QUESTION


class _Unit(NamedTuple):
    """A token or a matched phrase, with what it means to the scorer."""

    kind: str  # "sentiment" | "modifier" | "word" | "breaker" | "stop" | "excl" | "quest"
    key: str = ""
    valence: float = 0.0
    modifier: Modifier | None = None
    emphasis: float = 1.0
    negatable: bool = True  # False for emoji and "fixed" entries
    polite: bool = False


class SpanishSentimentAnalyser:
    """Scores Spanish text in -1..1 from the shipped lexicon, modifiers and emoji table."""

    def __init__(
        self, lexicon: Lexicon, modifiers: dict[str, Modifier], emoji: dict[str, float]
    ) -> None:
        self.lexicon = lexicon
        self.modifiers = modifiers
        self.emoji = emoji
        self._negators = frozenset(k for k, m in modifiers.items() if m.role == "negator")
        # Word look-ups try several inflections and prefixes; cache the answers (bounded).
        self._valence_cache: dict[str, tuple[float | None, float]] = {}
        # Phrases of both tables as word tuples, and their lengths by first word, so that
        # phrase matching costs one dict look-up per word that cannot start a phrase.
        self._phrases: dict[tuple[str | None, ...], tuple[str, float | None, Modifier | None]] = {}
        self._phrase_lengths: dict[str, list[int]] = {}
        for phrase, modifier in modifiers.items():
            if " " in phrase:
                self._phrases[tuple(phrase.split())] = (phrase, None, modifier)
        for phrase, valence in lexicon.phrases.items():
            self._phrases[tuple(phrase.split())] = (phrase, valence, None)
        for phrase, _valence, _modifier in self._phrases.values():
            first, *rest = phrase.split()
            lengths = self._phrase_lengths.setdefault(first, [])
            if len(rest) + 1 not in lengths:
                lengths.append(len(rest) + 1)
                lengths.sort(reverse=True)  # longest match first
        self._unit_cache: dict[tuple[str, bool, bool, bool], _Unit] = {}

    @classmethod
    def load_default(cls, emoji: dict[str, float]) -> SpanishSentimentAnalyser:
        return cls(load_lexicon("es_lexicon.tsv"), load_modifiers("es_modifiers.tsv"), emoji)

    # -- look-ups ----------------------------------------------------------------------------

    def word_valence(self, key: str) -> tuple[float | None, float]:
        """Valence of one folded word and an emphasis factor (for superlatives), if known."""
        cached = self._valence_cache.get(key)
        if cached is None:
            if len(self._valence_cache) >= VALENCE_CACHE_SIZE:
                self._valence_cache.clear()
            cached = self._valence_cache[key] = self._lookup_word(key)
        return cached

    def _lookup_word(self, key: str) -> tuple[float | None, float]:
        words = self.lexicon.words
        valence = words.get(key)
        if valence is not None:
            return valence, 1.0
        for candidate in self._inflection_candidates(key):
            valence = words.get(candidate)
            if valence is not None:
                return valence, 1.0
        superlative = _SUPERLATIVE_RE.match(key)
        if superlative:
            stem = superlative.group(1)
            stems = [stem, stem.replace("qu", "c"), stem.replace("gu", "g"), stem[:-1] + "z"]
            for base in stems:
                for candidate in (base + "o", base, base + "e", base + "a"):
                    valence = words.get(candidate)
                    if valence is None:
                        valence = self.lexicon.prefix_valence(candidate)
                    if valence is not None:
                        return valence, SUPERLATIVE_FACTOR
        valence = self.lexicon.prefix_valence(key)
        if valence is not None:
            return valence, 1.0
        diminutive = _DIMINUTIVE_RE.match(key)
        if diminutive:
            stem = diminutive.group(1)
            for candidate in (stem + "o", stem + "a", stem + "e", stem):
                valence = words.get(candidate)
                if valence is not None:
                    return valence, 1.0
        return None, 1.0

    @staticmethod
    def _inflection_candidates(key: str) -> list[str]:
        """Masculine singular forms a plural/feminine word may come from ("malas" → "malo")."""
        candidates: list[str] = []
        if key.endswith("es") and len(key) > 4:
            candidates.append(key[:-2])  # "fatales" → "fatal"
        if key.endswith("s") and len(key) > 3:
            candidates.append(key[:-1])  # "buenos" → "bueno"
        base = candidates[-1] if candidates else key
        if base.endswith("a") and len(base) > 3:
            candidates.append(base[:-1] + "o")  # "mala" → "malo"
        return candidates

    # -- analysis ----------------------------------------------------------------------------

    def _units(self, tokens: list[Token]) -> list[_Unit]:
        """Turn tokens into scoring units, matching phrases (longest first) before words."""
        units: list[_Unit] = []
        # None marks non-word tokens, which a phrase never spans.
        word = _WORD
        keys = [t.key if t.kind is word else None for t in tokens]
        word_tokens = [t for t in tokens if t.kind is word]
        whole_text_shouted = bool(word_tokens) and all(t.shouted for t in word_tokens)
        i = 0
        count = len(tokens)
        while i < count:
            token = tokens[i]
            kind = token.kind
            if kind is word:
                lengths = self._phrase_lengths.get(token.key)
                if lengths:
                    matched = self._match_phrase(tokens, keys, i, lengths)
                    if matched is not None:
                        units.append(matched[0])
                        i += matched[1]
                        continue
                # "Bueno, …" / "Vale." opening a clause are discourse markers, not opinions.
                if (
                    token.key in _DISCOURSE_MARKERS
                    and (i == 0 or keys[i - 1] is None)
                    and i + 1 < count
                    and tokens[i + 1].kind is _STOP
                ):
                    units.append(_Unit("word", token.key))
                else:
                    units.append(self._word_unit(token, whole_text_shouted))
            elif kind is _EMOJI or kind is _EMOTICON:
                valence = self.emoji.get(token.key)
                if valence is not None:
                    # An emoji is the writer's own mood: negation before it does not flip it.
                    units.append(_Unit("sentiment", token.key, valence, negatable=False))
            elif kind is _EXCLAMATION:
                units.append(_Unit("excl", "!", emphasis=float(len(token.text))))
            elif kind is _QUESTION:
                units.append(_Unit("quest", "?"))
            else:
                units.append(_Unit("stop", token.key))
            i += 1
        return units

    def _match_phrase(
        self, tokens: list[Token], keys: list[str | None], start: int, lengths: list[int]
    ) -> tuple[_Unit, int] | None:
        for length in lengths:
            window = tuple(keys[start : start + length])
            entry = self._phrases.get(window)
            if entry is None:
                continue
            phrase, valence, modifier = entry
            if modifier is not None:
                return _Unit("modifier", phrase, modifier=modifier), length
            assert valence is not None
            shouted = all(t.shouted for t in tokens[start : start + length])
            return self._sentiment_unit(phrase, valence, SHOUT_FACTOR if shouted else 1.0), length
        return None

    def _word_unit(self, token: Token, whole_text_shouted: bool) -> _Unit:
        # Keyed on plain values: hashing the token itself would hash its kind (an Enum, hashed
        # in Python), and the unit depends only on these.
        cache_key = (token.key, token.shouted, token.stretched, whole_text_shouted)
        unit = self._unit_cache.get(cache_key)
        if unit is None:
            if len(self._unit_cache) >= VALENCE_CACHE_SIZE:
                self._unit_cache.clear()
            unit = self._unit_cache[cache_key] = self._make_word_unit(token, whole_text_shouted)
        return unit

    def _make_word_unit(self, token: Token, whole_text_shouted: bool) -> _Unit:
        key = token.key
        modifier = self.modifiers.get(key)
        if modifier is not None:
            return _Unit("modifier", key, modifier=modifier)
        if _LAUGHTER_RE.match(key):
            key = "jaja"
        valence, emphasis = self.word_valence(key)
        if valence is None:
            return _Unit("breaker" if key in _SCOPE_BREAKERS else "word", key)
        if token.shouted and not whole_text_shouted:
            emphasis *= SHOUT_FACTOR
        if token.stretched:
            emphasis *= STRETCH_FACTOR
        return self._sentiment_unit(key, valence, emphasis)

    def _sentiment_unit(self, key: str, valence: float, emphasis: float) -> _Unit:
        flags = self.lexicon.flags.get(key, frozenset())
        # Phrases that are themselves negations ("no funciona", "sin respuesta") keep their sign.
        negatable = "fixed" not in flags and key.split(" ", 1)[0] not in self._negators
        return _Unit(
            "sentiment",
            key,
            valence,
            emphasis=emphasis,
            negatable=negatable,
            polite="polite" in flags,
        )

    def polarity(self, text: str) -> float:
        """Compound polarity of `text` in -1..1 (0 when no sentiment-bearing item is found)."""
        return self.polarity_parts(text).compound

    def polarity_parts(self, text: str, tokens: list[Token] | None = None) -> Polarity:
        """Compound polarity and the positive and negative valence it was summed from."""
        units = self._units(tokenize(text) if tokens is None else tokens)
        is_request = any(unit.kind == "quest" for unit in units)
        scored: list[float] = []
        negation_left = 0  # content words still inside the current negation's scope
        intensity = 1.0
        intensity_left = 0
        in_concession = False
        contrast_at: int | None = None  # index in `scored` where a "pero" clause starts
        exclamations = 0
        for unit in units:
            kind = unit.kind
            if kind in ("stop", "excl", "quest"):
                negation_left = intensity_left = 0
                in_concession = False
                if kind == "excl":
                    exclamations += int(unit.emphasis)
                continue
            if kind == "modifier" and unit.modifier is not None:
                role, value = unit.modifier.role, unit.modifier.value
                if role == "negator":
                    # Negative concord: "no … nada" is one negation, so only refresh the scope.
                    negation_left = int(value)
                elif role in ("intensifier", "diminisher"):
                    intensity = intensity * value if intensity_left else value
                    intensity_left = INTENSIFIER_SCOPE
                elif role == "contrast":
                    contrast_at = len(scored)
                    negation_left = 0
                elif role == "concessive":
                    in_concession = True
                continue
            if kind == "breaker":
                negation_left = intensity_left = 0
                continue
            if kind == "word":
                if unit.key not in _SCOPE_TRANSPARENT:
                    # Both counters are never negative: count down to 0.
                    if negation_left:
                        negation_left -= 1
                    if intensity_left:
                        intensity_left -= 1
                continue
            valence = unit.valence * unit.emphasis
            if unit.negatable:
                if intensity_left:
                    valence *= intensity
                    intensity_left = 0
                if negation_left:
                    valence *= NEGATION_FACTOR
            if in_concession:
                valence *= CONCESSIVE_FACTOR
            if unit.polite and is_request:
                # "¿A qué hora abrís? Gracias" is a neutral question, not praise.
                valence *= POLITE_REQUEST_FACTOR
            scored.append(valence)
        if contrast_at is not None:
            scored = [
                v * (CONTRAST_BEFORE if i < contrast_at else CONTRAST_AFTER)
                for i, v in enumerate(scored)
            ]
        total = sum(scored)
        if is_request:
            total *= QUESTION_FACTOR
        if total and exclamations:
            total += math.copysign(EXCLAMATION_BOOST * min(exclamations, MAX_EXCLAMATIONS), total)
        return Polarity(
            compound=total / math.sqrt(total * total + ALPHA),
            positive=sum(v for v in scored if v > 0),
            negative=-sum(v for v in scored if v < 0),
        )
