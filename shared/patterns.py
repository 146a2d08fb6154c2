"""Regular expressions written by rule authors (guideline packs, routing rules): safety check,
literal expansion, timeouts.

Author patterns are refused at load when they could backtrack catastrophically (a quantified
group that contains another unbounded quantifier, like ``(a+)+``, or alternatives that can
match the same character, like ``(a|a)*``); every search also runs under a timeout. Patterns
that are only words with small alternations (``(te|le) devolvemos el dinero``, ``e-?mail``)
are expanded into literal phrases, which the engine matches through one shared phrase index
instead of one regex per rule.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import regex

MATCH_TIMEOUT_SECONDS = 0.05
_MAX_EXPANSIONS = 1024
_PROBE_CHARS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \t\n.,;:!?¡¿-_'\"()[]{}"
    "@#$%&*+/=<>|~\\^`áéíóúñüÁÉÍÓÚÑ€😀"
)


class UnsafePatternError(ValueError):
    """The pattern could backtrack catastrophically or does not compile."""


def _read_atom(pattern: str, index: int) -> tuple[str, int]:
    """Return the atom starting at ``index`` and the index after it."""
    char = pattern[index]
    if char == "\\":
        return pattern[index : index + 2], index + 2
    if char == "[":
        end = index + 1
        if end < len(pattern) and pattern[end] == "^":
            end += 1
        if end < len(pattern) and pattern[end] == "]":
            end += 1
        while end < len(pattern) and pattern[end] != "]":
            end += 2 if pattern[end] == "\\" else 1
        return pattern[index : end + 1], end + 1
    return char, index + 1


def _read_quantifier(pattern: str, index: int) -> tuple[str, int]:
    """Return the quantifier at ``index`` ('' when none) and the index after it."""
    if index >= len(pattern):
        return "", index
    char = pattern[index]
    if char in "*+?":
        end = index + 1
    elif char == "{":
        match = re.match(r"\{\d*(?:,\d*)?\}", pattern[index:])
        if not match:
            return "", index
        end = index + match.end()
    else:
        return "", index
    if end < len(pattern) and pattern[end] in "?+":  # lazy or possessive suffix
        end += 1
    return pattern[index:end], end


def _is_unbounded(quantifier: str) -> bool:
    if not quantifier:
        return False
    if quantifier[0] in "*+":
        return True
    if quantifier[0] == "{":
        bounds = quantifier.strip("{}?+").split(",")
        return len(bounds) == 2 and (bounds[1] == "" or int(bounds[1]) > 16)
    return False


def _atoms_overlap(first: str, second: str) -> bool:
    """True when two leading atoms can match the same character (probed, conservative)."""
    if first in ("", "(") or second in ("", "("):
        return True
    try:
        first_re, second_re = re.compile(first), re.compile(second)
    except re.error:
        return True
    return any(first_re.fullmatch(char) and second_re.fullmatch(char) for char in _PROBE_CHARS)


_ZERO_WIDTH = frozenset({"\\b", "\\B", "^", "$", "\\A", "\\Z", "\\z", "\\G"})


class _Group:
    __slots__ = ("has_unbounded", "branch_heads", "expect_head", "atoms", "simple")

    def __init__(self) -> None:
        self.has_unbounded = False
        self.branch_heads: list[str] = []
        self.expect_head = True
        self.atoms: list[tuple[str, str]] = []  # (atom, quantifier) at this group's level
        self.simple = True  # no alternation, no nested group

    def is_delimited(self) -> bool:
        """True when each repetition must end with a character its unbounded parts cannot
        match, as in ``(?:\\b[A-Z][a-z]+ )+``: then there is one way to split the input."""
        atoms = [(atom, q) for atom, q in self.atoms if atom not in _ZERO_WIDTH]
        if not self.simple or not atoms or atoms[-1][1]:
            return False
        last = atoms[-1][0]
        return not any(_is_unbounded(q) and _atoms_overlap(atom, last) for atom, q in atoms)


def check_pattern_safety(pattern: str) -> None:
    """Raise UnsafePatternError when ``pattern`` risks catastrophic backtracking."""
    stack = [_Group()]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        frame = stack[-1]
        if char == "(":
            if frame.expect_head:
                frame.branch_heads.append("(")
                frame.expect_head = False
            frame.simple = False
            stack.append(_Group())
            index += 1
            if pattern.startswith("?", index):  # (?:, (?P<name>, (?=, (?i) ...
                closing = re.match(
                    r"\?(?:P<\w+>|<\w+>|[:=!>]|<[=!]|[a-zA-Z-]+[:)])", pattern[index:]
                )
                index += closing.end() if closing else 1
                if closing and closing.group().endswith(")"):
                    stack.pop()
            continue
        if char == ")":
            if len(stack) == 1:
                raise UnsafePatternError("unbalanced parenthesis")
            group = stack.pop()
            quantifier, index = _read_quantifier(pattern, index + 1)
            parent = stack[-1]
            if _is_unbounded(quantifier):
                if group.has_unbounded and not group.is_delimited():
                    raise UnsafePatternError(
                        "nested quantifiers (a quantified group repeats another quantifier), "
                        "e.g. (a+)+, can backtrack catastrophically"
                    )
                heads = group.branch_heads
                for left, right in itertools.combinations(heads, 2):
                    if _atoms_overlap(left, right):
                        raise UnsafePatternError(
                            "a repeated group has alternatives that match the same text, "
                            "e.g. (a|a)*, which can backtrack catastrophically"
                        )
                parent.has_unbounded = True
            parent.has_unbounded = parent.has_unbounded or group.has_unbounded
            continue
        if char == "|":
            frame.expect_head = True
            frame.simple = False
            index += 1
            continue
        atom, index = _read_atom(pattern, index)
        if frame.expect_head:
            frame.branch_heads.append(atom)
            frame.expect_head = False
        quantifier, index = _read_quantifier(pattern, index)
        frame.atoms.append((atom, quantifier))
        if _is_unbounded(quantifier):
            frame.has_unbounded = True
    if len(stack) != 1:
        raise UnsafePatternError("unbalanced parenthesis")


def _top_level(pattern: str, wanted: str) -> Iterator[int]:
    """Positions of the characters in ``wanted`` that stand at the top level of ``pattern``:
    outside groups, character classes and escapes."""
    depth = 0
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            _atom, index = _read_atom(pattern, index)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and char in wanted:
            yield index
        index += 1


def _split_top_level(pattern: str) -> list[str]:
    """The top-level alternatives of ``pattern`` (``a|b(c|d)`` -> ``a``, ``b(c|d)``)."""
    parts = []
    start = 0
    for index in _top_level(pattern, "|"):
        parts.append(pattern[start:index])
        start = index + 1
    parts.append(pattern[start:])
    return parts


def _required_in_branch(branch: str) -> frozenset[str]:
    """Punctuation runs a branch cannot match without ('!{2,}' needs '!!')."""
    required: set[str] = set()
    depth = 0
    index = 0
    while index < len(branch):
        char = branch[index]
        if char == "(":
            depth += 1
            index += 1
            continue
        if char == ")":
            depth -= 1
            _quantifier, index = _read_quantifier(branch, index + 1)
            continue
        atom, index = _read_atom(branch, index)
        quantifier, index = _read_quantifier(branch, index)
        if depth or quantifier[:1] in ("?", "*") or quantifier.startswith("{0"):
            continue
        literal = atom[1] if len(atom) == 2 and atom[0] == "\\" else atom
        is_symbol = len(literal) == 1 and not literal.isalnum() and not literal.isspace()
        if not is_symbol or (atom[0] != "\\" and literal in ".^$[]{}*+?|\\"):
            continue
        times = 1
        if quantifier.startswith("{"):
            times = int(quantifier.strip("{}?+").split(",")[0] or 1)
        required.add(literal * min(times, 8))
    return frozenset(required)


def symbol_requirements(pattern: str) -> list[frozenset[str]]:
    """What a text must contain for ``pattern`` to match: any one of the returned sets of
    punctuation runs, all of that set (``!{2,}|\\?!`` -> [{'!!'}, {'?!'}]). Empty when
    unknown. Letters are never required, so case-insensitive patterns stay correct.
    """
    requirements = [_required_in_branch(branch) for branch in _split_top_level(pattern)]
    return requirements if all(requirements) else []


def text_meets(text: str, requirements: list[frozenset[str]]) -> bool:
    """True when ``text`` holds every string of at least one requirement set (or none)."""
    if not requirements:
        return True
    for required in requirements:
        for part in required:
            if part not in text:
                break
        else:
            return True
    return False


def compile_author_pattern(pattern: str, *, ignorecase: bool) -> Any:
    """Check and compile an author's pattern with the ``regex`` module (timeouts supported)."""
    check_pattern_safety(pattern)
    flags = regex.VERSION0 | (regex.IGNORECASE if ignorecase else 0)
    try:
        return regex.compile(pattern, flags)
    except regex.error as exc:
        raise UnsafePatternError(f"invalid regular expression: {exc}") from exc


# ---------------------------------------------------------------------------------------------
# Literal expansion: words plus (a|b) groups, optional '?' and simple [ab] classes.

_LITERAL_CHARS = re.compile(r"[\w\s'’\-.,/&]")


def _expand_sequence(pattern: str, index: int, depth: int) -> tuple[list[str], int]:
    """Expand alternatives until ')' or end; returns (expansions, index after)."""
    alternatives: list[str] = []
    current = [""]
    while index < len(pattern):
        char = pattern[index]
        if char == ")":
            if depth == 0:
                raise ValueError("unbalanced")
            break
        if char == "|":
            alternatives.extend(current)
            current = [""]
            index += 1
            continue
        if char == "(":
            index += 1
            if pattern.startswith("?:", index):
                index += 2
            elif pattern.startswith("?", index):
                raise ValueError("group flags")
            options, index = _expand_sequence(pattern, index, depth + 1)
            index += 1  # the ')'
        elif char == "[":
            end = pattern.find("]", index)
            body = pattern[index + 1 : end]
            if end < 0 or not body or any(not c.isalnum() and c not in " -'" for c in body):
                raise ValueError("class")
            options = list(body)
            index = end + 1
        elif char == "\\":
            escaped = pattern[index + 1 : index + 2]
            if not escaped or escaped.isalnum():
                raise ValueError("escape class")
            options = [escaped]
            index += 2
        elif _LITERAL_CHARS.fullmatch(char):
            options = [char]
            index += 1
        else:
            raise ValueError("metacharacter")
        if index < len(pattern) and pattern[index] == "?":
            options = [*options, ""]
            index += 1
        if index < len(pattern) and pattern[index] in "*+{":
            raise ValueError("repetition")
        current = [prefix + option for prefix in current for option in options]
        if len(current) > _MAX_EXPANSIONS:
            raise ValueError("too many expansions")
    alternatives.extend(current)
    return alternatives, index


def expand_to_literals(pattern: str) -> list[str] | None:
    """Return every literal phrase ``pattern`` matches, or None when it is a real regex.

    ``(te|le) devolvemos`` -> ['te devolvemos', 'le devolvemos']; ``e-?mail`` -> ['e-mail',
    'email']. Bounded to a few hundred expansions.
    """
    try:
        expansions, index = _expand_sequence(pattern, 0, 0)
    except (ValueError, IndexError):
        return None
    if index != len(pattern):
        return None
    phrases = [" ".join(phrase.split()) for phrase in expansions]
    if any(not re.search(r"\w", phrase) for phrase in phrases):
        return None
    return list(dict.fromkeys(phrases))


def search_with_timeout(compiled: Any, text: str, pos: int = 0) -> Any:
    """``compiled.search`` bounded by MATCH_TIMEOUT_SECONDS (raises TimeoutError)."""
    return compiled.search(text, pos, timeout=MATCH_TIMEOUT_SECONDS)


def finditer_with_timeout(compiled: Any, text: str) -> Any:
    """``compiled.finditer`` bounded by MATCH_TIMEOUT_SECONDS (raises TimeoutError)."""
    return compiled.finditer(text, timeout=MATCH_TIMEOUT_SECONDS)


def _first_segment(pattern: str) -> tuple[str, str] | None:
    """Split ``pattern`` at its first top-level, unquantified space: (head, rest).

    None when a top-level space is optional (``foo ?bar``), so no word boundary is certain.
    """
    for index in _top_level(pattern, " "):
        quantifier, _after = _read_quantifier(pattern, index + 1)
        if quantifier:
            return None
        return pattern[:index], pattern[index:]
    return pattern, ""


def trigger_words(pattern: str, *, bounded: bool) -> frozenset[str] | None:
    """Lowercase words one of which every match of ``pattern`` must start with, or None.

    ``bounded`` says the pattern is wrapped in ``\\b...\\b``. A text whose words include none
    of them cannot match, so the regex need not run: ``\\b(?:sorry|apologies)\\b`` needs
    'sorry' or 'apologies'. Conservative: None whenever the first word is not certain.
    """
    body = pattern
    starts_at_word = bounded
    while True:
        if body.startswith("\\b"):
            body, starts_at_word = body[2:], True
        elif body.startswith("(?i)"):
            body = body[4:]
        else:
            break
    if not starts_at_word:
        return None
    split = _first_segment(body)
    if split is None:
        return None
    head, rest = split
    if not rest:
        if head.endswith("\\b"):
            head = head[:-2]
        elif not bounded:
            return None
    literals = expand_to_literals(head)
    if literals is None:
        return None
    words = set()
    for literal in literals:
        first = re.match(r"\w+", literal.lower())
        if first is None:
            return None  # starts with punctuation: no first word to look for
        words.add(first.group())
    return frozenset(words)


def trigger_words_of_all(patterns: list[str], *, bounded: bool) -> frozenset[str] | None:
    """Union of ``trigger_words`` over alternatives; None when any of them is unknown."""
    words: set[str] = set()
    for pattern in patterns:
        found = trigger_words(pattern, bounded=bounded)
        if found is None:
            return None
        words |= found
    return frozenset(words)
