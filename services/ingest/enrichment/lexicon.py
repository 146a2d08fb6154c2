"""Loading of the hand-written lexicon data files shipped in ``enrichment/data``.

File format (UTF-8, tab-separated, ``#`` starts a comment line):

- ``es_lexicon.tsv`` / ``en_additions.tsv`` / ``emoji.tsv``: ``term<TAB>valence``, valence on
  VADER's scale (-4 … +4). A term may be a phrase ("una vergüenza", "no funciona") or end with
  ``*`` to match every word starting with it ("decepcion*" → decepcionado, decepcionante…).
  An optional third column holds comma-separated flags: ``fixed`` (negation does not flip it:
  "no tengo ni puta idea" stays negative) and ``polite`` (courtesy formula such as "gracias" or
  "un saludo", which carries little sentiment when it closes a question or a request).
- ``es_modifiers.tsv``: ``term<TAB>role<TAB>value`` where role is negator, intensifier,
  diminisher, contrast (sentiment before it counts less, after it more: "pero") or concessive
  (its own clause counts less: "aunque").

Every entry was written by hand by the project (see README in the package), so the files can
be shipped under the project's licence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Final

from shared.text.tokens import fold

MIN_PREFIX_LEN: Final = 3
MAX_PHRASE_WORDS: Final = 5
LEXICON_FLAGS: Final = frozenset({"fixed", "polite"})


def _data_lines(filename: str) -> Iterator[list[str]]:
    """Yield the tab-split, non-comment, non-empty lines of a packaged data file."""
    text = resources.files(__package__).joinpath("data", filename).read_text(encoding="utf-8")
    for line_number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = [part.strip() for part in stripped.split("\t") if part.strip()]
        if len(fields) < 2:
            raise ValueError(f"{filename}:{line_number}: expected tab-separated fields: {line!r}")
        yield fields


def normalise_term(term: str, *, fold_accents: bool = True) -> str:
    """Canonical key of a lexicon term: folded words joined by single spaces."""
    words = term.split()
    return " ".join(fold(word) if fold_accents else word for word in words)


@dataclass(slots=True)
class Lexicon:
    """Word, prefix and phrase valences."""

    words: dict[str, float] = field(default_factory=dict)
    prefixes: dict[str, float] = field(default_factory=dict)
    phrases: dict[str, float] = field(default_factory=dict)
    flags: dict[str, frozenset[str]] = field(default_factory=dict)
    max_prefix_len: int = 0

    def add(self, term: str, valence: float, flags: frozenset[str] = frozenset()) -> None:
        if flags - LEXICON_FLAGS:
            raise ValueError(f"unknown flags {sorted(flags - LEXICON_FLAGS)} for {term!r}")
        if flags:
            self.flags[term] = flags
        if term.endswith("*"):
            stem = term[:-1]
            if len(stem) < MIN_PREFIX_LEN:
                raise ValueError(f"prefix too short to be safe: {term!r}")
            self.prefixes[stem] = valence
            self.max_prefix_len = max(self.max_prefix_len, len(stem))
        elif " " in term:
            if len(term.split()) > MAX_PHRASE_WORDS:
                raise ValueError(f"phrase longer than {MAX_PHRASE_WORDS} words: {term!r}")
            self.phrases[term] = valence
        else:
            self.words[term] = valence

    def prefix_valence(self, key: str) -> float | None:
        """Valence of the longest prefix entry that `key` starts with."""
        for length in range(min(len(key), self.max_prefix_len), MIN_PREFIX_LEN - 1, -1):
            valence = self.prefixes.get(key[:length])
            if valence is not None:
                return valence
        return None

    def __len__(self) -> int:
        return len(self.words) + len(self.prefixes) + len(self.phrases)


def _check_unique(filename: str, seen: set[str], term: str) -> None:
    """Reject duplicates (also those that only differ by accents) so no entry silently wins."""
    if term in seen:
        raise ValueError(f"{filename}: duplicate entry {term!r}")
    seen.add(term)


def load_lexicon(filename: str, *, fold_accents: bool = True) -> Lexicon:
    lexicon = Lexicon()
    seen: set[str] = set()
    for fields in _data_lines(filename):
        term = normalise_term(fields[0], fold_accents=fold_accents)
        _check_unique(filename, seen, term)
        flags = (
            frozenset(f.strip() for f in fields[2].split(",")) if len(fields) > 2 else frozenset()
        )
        lexicon.add(term, float(fields[1]), flags)
    return lexicon


def load_valences(filename: str) -> dict[str, float]:
    """Plain ``term → valence`` table (used for emoji and emoticons, matched verbatim)."""
    valences: dict[str, float] = {}
    seen: set[str] = set()
    for fields in _data_lines(filename):
        _check_unique(filename, seen, fields[0])
        valences[fields[0]] = float(fields[1])
    return valences


@dataclass(frozen=True, slots=True)
class Modifier:
    role: str
    value: float


MODIFIER_ROLES: Final = frozenset(
    {"negator", "intensifier", "diminisher", "contrast", "concessive"}
)


def load_modifiers(filename: str) -> dict[str, Modifier]:
    modifiers: dict[str, Modifier] = {}
    seen: set[str] = set()
    for fields in _data_lines(filename):
        term, role = normalise_term(fields[0]), fields[1]
        _check_unique(filename, seen, term)
        if role not in MODIFIER_ROLES:
            raise ValueError(f"{filename}: unknown modifier role {role!r} for {term!r}")
        modifiers[term] = Modifier(role, float(fields[2]) if len(fields) > 2 else 1.0)
    return modifiers
