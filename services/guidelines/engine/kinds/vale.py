"""The rule kinds Vale has: existence, substitution, occurrence, repetition, consistency,
conditional, capitalization and metric, with Vale's field names.

Differences from Vale: ``ignorecase`` defaults to true in our packs (the Vale importer sets it
to Vale's default, false), and words-only tokens are matched through the guideline's shared
phrase index instead of a regex per rule.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import Any

from shared.patterns import (
    UnsafePatternError,
    compile_author_pattern,
    expand_to_literals,
    finditer_with_timeout,
    search_with_timeout,
    symbol_requirements,
    text_meets,
    trigger_words,
    trigger_words_of_all,
)

from ..dictionary import is_ordinary_word, ordinary_words
from ..models import CheckContext, Rule
from ..text import Document, WordPhrases, in_capitals_run
from .base import (
    BrandFacts,
    Checker,
    Hit,
    KindError,
    PhraseSpec,
    check_known_params,
    kind,
    param_bool,
    param_int,
    param_str,
    param_str_list,
    render_message,
)

# Vale fields we accept for compatibility but do not act on.
VALE_PASSTHROUGH = ("action", "vocab", "append", "code", "nonword", "ignorecase", "exceptions")
SCOPES = ("text", "sentence", "paragraph", "heading", "raw", "list", "summary")


def _compile(pattern: str, field: str, *, ignorecase: bool) -> Any:
    try:
        return compile_author_pattern(pattern, ignorecase=ignorecase)
    except UnsafePatternError as exc:
        raise KindError(f"{exc} in pattern {pattern!r}", field) from exc


def _scope_spans(doc: Document, scope: str) -> list[tuple[int, int]]:
    if scope == "sentence":
        return doc.sentences
    if scope == "paragraph":
        return doc.paragraphs
    return [(0, len(doc.text))]


def _bounded(pattern: str, nonword: bool) -> str:
    return pattern if nonword else rf"\b(?:{pattern})\b"


class ExistenceChecker(Checker):
    """Flags every occurrence of its tokens."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        params = rule.params
        check_known_params(params, (*VALE_PASSTHROUGH, "tokens", "raw"))
        ignorecase = param_bool(params, "ignorecase", True)
        nonword = param_bool(params, "nonword", False)
        tokens = param_str_list(params, "tokens")
        raw = param_str_list(params, "raw")
        self.exceptions = frozenset(e.lower() for e in param_str_list(params, "exceptions"))
        if not tokens and not raw:
            raise KindError("existence needs 'tokens' or 'raw'", "tokens")
        regex_tokens: list[str] = []
        for token in tokens:
            literals = None if nonword else expand_to_literals(token)
            if literals is None:
                _compile(token, "tokens", ignorecase=ignorecase)  # errors name this token
                regex_tokens.append(token)
                continue
            for literal in literals:
                self.phrases.append(
                    PhraseSpec(literal, case_sensitive=not ignorecase, exceptions=self.exceptions)
                )
        patterns = []
        if regex_tokens:
            patterns.append(_bounded("|".join(regex_tokens), nonword))
        if raw:
            patterns.append("".join(raw))
            _compile(patterns[-1], "raw", ignorecase=ignorecase)
        # Punctuation each token cannot match without: when the text lacks it for every
        # token, the search is skipped (most texts have no '€', '!!' or '%').
        self.requirements: list[frozenset[str]] = []
        for pattern in [*regex_tokens, *(["".join(raw)] if raw else [])]:
            needed = symbol_requirements(pattern)
            if not needed:
                self.requirements = []
                break
            self.requirements.extend(needed)
        # Words one of which every match starts with: no such word, no search.
        self.triggers = trigger_words_of_all(regex_tokens, bounded=not nonword)
        if raw and self.triggers is not None:
            raw_triggers = trigger_words("".join(raw), bounded=False)
            self.triggers = None if raw_triggers is None else self.triggers | raw_triggers
        self.pattern = (
            _compile("|".join(f"(?:{p})" for p in patterns), "tokens", ignorecase=ignorecase)
            if patterns
            else None
        )
        self.has_check = self.pattern is not None

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        if self.pattern is None:
            return ()
        text = doc.text
        if self.triggers is not None and self.triggers.isdisjoint(doc.word_set):
            return ()
        if not text_meets(text, self.requirements):
            return ()
        hits = []
        for start, end in _scope_spans(doc, self.rule.scope):
            segment = text[start:end] if self.rule.scope == "sentence" else text
            if self.rule.scope == "sentence" and not text_meets(segment, self.requirements):
                continue
            offset = start if self.rule.scope == "sentence" else 0
            for match in finditer_with_timeout(self.pattern, segment):
                found = match.group()
                if match.end() > match.start() and found.lower() not in self.exceptions:
                    hits.append(self.hit(offset + match.start(), offset + match.end(), doc))
        return hits


class SubstitutionChecker(Checker):
    """Flags terms that have a preferred replacement (``swap: {bad: good}``)."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        params = rule.params
        check_known_params(params, (*VALE_PASSTHROUGH, "swap"))
        swap = params.get("swap")
        if not isinstance(swap, dict) or not swap:
            raise KindError("substitution needs a non-empty 'swap' mapping", "swap")
        ignorecase = param_bool(params, "ignorecase", True)
        nonword = param_bool(params, "nonword", False)
        exceptions = frozenset(e.lower() for e in param_str_list(params, "exceptions"))
        self.regex_swaps: list[tuple[str, tuple[str, ...]]] = []
        for bad, good in swap.items():
            if not isinstance(bad, str) or not isinstance(good, str | list):
                raise KindError("'swap' maps a term to its replacement(s)", "swap")
            replacements = tuple(good.split("|")) if isinstance(good, str) else tuple(good)
            literals = None if nonword else expand_to_literals(bad)
            if literals is None:
                self.regex_swaps.append((bad, replacements))
                continue
            for literal in literals:
                self.phrases.append(
                    PhraseSpec(literal, not ignorecase, replacements, exceptions=exceptions)
                )
        self.exceptions = exceptions
        self.ignorecase = ignorecase
        self.pattern = None
        if self.regex_swaps:
            alternation = "|".join(
                f"(?P<swap{index}>{_bounded(bad, nonword)})"
                for index, (bad, _good) in enumerate(self.regex_swaps)
            )
            self.pattern = _compile(alternation, "swap", ignorecase=ignorecase)
        self.has_check = self.pattern is not None
        self.triggers = trigger_words_of_all(
            [bad for bad, _good in self.regex_swaps], bounded=not nonword
        )

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        if self.pattern is None:
            return ()
        if self.triggers is not None and self.triggers.isdisjoint(doc.word_set):
            return ()
        hits = []
        for match in finditer_with_timeout(self.pattern, doc.text):
            found = match.group()
            replacements = self.regex_swaps[int(match.lastgroup[4:])][1]
            lowered = found.lower()
            if lowered in self.exceptions:
                continue
            if (
                (found in replacements)
                if not self.ignorecase
                else any(lowered == r.lower() for r in replacements)
            ):
                continue
            message = self._message(found, replacements, doc.lang)
            hits.append(Hit(match.start(), match.end(), message, replacements))
        return hits

    def _message(self, found: str, replacements: tuple[str, ...], lang: str) -> str:
        joined = " / ".join(replacements)
        message = self.rule.message_for(lang)
        return render_message(message, found, joined, found, suggestion=joined)


class OccurrenceChecker(Checker):
    """Counts a token per scope and flags more than ``max`` or fewer than ``min``."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        params = rule.params
        check_known_params(params, (*VALE_PASSTHROUGH, "token", "max", "min"))
        self.pattern = _compile(
            param_str(params, "token"), "token", ignorecase=param_bool(params, "ignorecase", True)
        )
        self.max = param_int(params, "max")
        self.min = param_int(params, "min")
        self.requirements = symbol_requirements(param_str(params, "token"))
        # Words-only tokens (\b(?:lo sentimos|perdón)\b) are counted on the words.
        literals = None
        token = param_str(params, "token")
        bounded = token.startswith("\\b") and token.endswith("\\b")
        if bounded and rule.scope == "text" and param_bool(params, "ignorecase", True):
            literals = expand_to_literals(token[2:-2])
        self.word_phrases = None
        if literals and all(re.fullmatch(r"\w+(?: \w+)*", phrase) for phrase in literals):
            self.word_phrases = WordPhrases(literals)
        self.triggers = trigger_words(param_str(params, "token"), bounded=False)
        if self.max is None and self.min is None:
            raise KindError("occurrence needs 'max' or 'min'", "max")

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        if self.word_phrases is not None:
            return self._check_words(doc, self.word_phrases)
        if self.min is None and (
            not text_meets(doc.text, self.requirements)
            or (self.triggers is not None and self.triggers.isdisjoint(doc.word_set))
        ):
            return ()
        hits = []
        for start, end in _scope_spans(doc, self.rule.scope):
            matches = list(finditer_with_timeout(self.pattern, doc.text[start:end]))
            count = len(matches)
            if self.max is not None and count > self.max:
                first_extra = matches[self.max]
                hits.append(
                    self.hit(
                        start + first_extra.start(),
                        start + matches[-1].end(),
                        doc,
                        str(self.max),
                        count=str(count),
                        max=str(self.max),
                    )
                )
            elif self.min is not None and count < self.min:
                hits.append(self.hit(start, end, doc, str(self.min), count=str(count)))
        return hits

    def _check_words(self, doc: Document, phrases: WordPhrases) -> list[Hit]:
        found = phrases.find(doc)
        count = len(found)
        if self.max is not None and count > self.max:
            start = doc.tokens[found[self.max][0]][0]
            end = doc.tokens[found[-1][1]][1]
            return [self.hit(start, end, doc, str(self.max), count=str(count), max=str(self.max))]
        if self.min is not None and count < self.min:
            return [self.hit(0, len(doc.text), doc, str(self.min), count=str(count))]
        return []


class RepetitionChecker(Checker):
    """Flags a token repeated back to back ("the the", "de de")."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        params = rule.params
        check_known_params(params, (*VALE_PASSTHROUGH, "tokens", "alpha"))
        tokens = param_str_list(params, "tokens") or [r"\w+"]
        self.alpha = param_bool(params, "alpha", True)
        # The usual \w+ tokens are the document's own tokens: no regex pass needed.
        self.uses_word_tokens = tokens == [r"\w+"] and param_bool(params, "ignorecase", True)
        self.pattern = _compile(
            "|".join(f"(?:{t})" for t in tokens),
            "tokens",
            ignorecase=param_bool(params, "ignorecase", True),
        )

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        if self.uses_word_tokens:
            return self._check_words(doc)
        hits = []
        previous = None
        text = doc.text
        for match in finditer_with_timeout(self.pattern, text):
            word = match.group().lower()
            if (
                previous is not None
                and previous.group().lower() == word
                and not text[previous.end() : match.start()].strip()
                and (not self.alpha or word.isalpha())
            ):
                hits.append(self.hit(previous.start(), match.end(), doc, match.group()))
            previous = match
        return hits

    def _check_words(self, doc: Document) -> list[Hit]:
        hits = []
        words = doc.words
        text = doc.text
        for index in range(1, len(words)):
            word = words[index]
            if word != words[index - 1] or (self.alpha and not word.isalpha()):
                continue
            start, end, _word = doc.tokens[index]
            previous_start, previous_end, _previous = doc.tokens[index - 1]
            if not text[previous_end:start].strip():
                hits.append(self.hit(previous_start, end, doc, text[start:end]))
        return hits


class ConsistencyChecker(Checker):
    """Flags using both spellings of a pair in one text (``either: {a: b}``)."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        params = rule.params
        check_known_params(params, (*VALE_PASSTHROUGH, "either"))
        either = params.get("either")
        if not isinstance(either, dict) or not either:
            raise KindError("consistency needs a non-empty 'either' mapping", "either")
        ignorecase = param_bool(params, "ignorecase", True)
        nonword = param_bool(params, "nonword", False)
        self.pairs = [
            (
                _compile(_bounded(str(first), nonword), "either", ignorecase=ignorecase),
                _compile(_bounded(str(second), nonword), "either", ignorecase=ignorecase),
            )
            for first, second in either.items()
        ]
        # Both spellings must be present: each side's first words gate the searches.
        self.pair_triggers = [
            (
                trigger_words(str(first), bounded=not nonword),
                trigger_words(str(second), bounded=not nonword),
            )
            for first, second in either.items()
        ]

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        hits = []
        words = doc.word_set
        for (first, second), triggers in zip(self.pairs, self.pair_triggers, strict=True):
            if any(found is not None and found.isdisjoint(words) for found in triggers):
                continue
            first_match = search_with_timeout(first, doc.text)
            if first_match is None:
                continue
            second_match = search_with_timeout(second, doc.text)
            if second_match is None:
                continue
            # The variant used first sets the norm; the other one is flagged.
            late = second if second_match.start() > first_match.start() else first
            early_text = min(first_match, second_match, key=lambda m: m.start()).group()
            for match in finditer_with_timeout(late, doc.text):
                hits.append(self.hit(match.start(), match.end(), doc, early_text))
        return hits


class ConditionalChecker(Checker):
    """If ``first`` matches, ``second`` must match too (with the same captured text if any)."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        params = rule.params
        check_known_params(params, (*VALE_PASSTHROUGH, "first", "second", "ordinary_words"))
        # For acronym rules: a capitalised ordinary word ("HOLA", "ORDER") is shouting, not an
        # acronym, and so is any word in a run of capitalised words.
        self.skip_ordinary_words = param_bool(params, "ordinary_words", False)
        if self.skip_ordinary_words:
            for lang in rule.languages or ("es", "en"):
                ordinary_words(lang)  # read the word list now, not on the first check
        ignorecase = param_bool(params, "ignorecase", False)
        self.first = _compile(param_str(params, "first"), "first", ignorecase=ignorecase)
        self.second = _compile(param_str(params, "second"), "second", ignorecase=ignorecase)
        self.exceptions = frozenset(param_str_list(params, "exceptions"))
        self.first_triggers = trigger_words(param_str(params, "first"), bounded=False)
        self.second_requirements = symbol_requirements(param_str(params, "second"))

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        text = doc.text
        if self.first_triggers is not None and self.first_triggers.isdisjoint(doc.word_set):
            return ()
        first_matches = list(finditer_with_timeout(self.first, text))
        if not first_matches:
            return ()
        captured_second = set()
        second_found = False
        second_possible = text_meets(text, self.second_requirements)
        for match in finditer_with_timeout(self.second, text) if second_possible else ():
            second_found = True
            captured_second.add(match.group(1) if match.groups() else match.group())
        hits = []
        for match in first_matches:
            key = match.group(1) if match.groups() else match.group()
            if key in self.exceptions:
                continue
            if self.skip_ordinary_words and (
                is_ordinary_word(key, doc.lang) or in_capitals_run(text, match.start(), match.end())
            ):
                continue
            if match.groups():
                satisfied = key in captured_second
            else:
                satisfied = second_found
            if not satisfied:
                hits.append(self.hit(match.start(), match.end(), doc))
        return hits


_SENTENCE_LEAD = re.compile(r"[\s¡¿\"'«(\[*_-]*")


class CapitalizationChecker(Checker):
    """Checks the case of each scope: ``$sentence``, ``$lower``, ``$upper``, ``$title``.

    Vale's ``heading`` scope never applies: social replies have no headings.
    """

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        params = rule.params
        check_known_params(params, (*VALE_PASSTHROUGH, "match", "style", "indicators", "threshold"))
        self.style = param_str(params, "match", "$sentence")
        self.exceptions = frozenset(param_str_list(params, "exceptions"))
        self.pattern = None
        if not self.style.startswith("$"):
            self.pattern = _compile(self.style, "match", ignorecase=False)
        elif self.style not in ("$sentence", "$lower", "$upper", "$title"):
            raise KindError(f"unknown capitalization style {self.style!r}", "match")

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        if self.rule.scope == "heading":
            return ()
        text = doc.text
        hits = []
        spans = doc.sentences if self.rule.scope in ("sentence", "text") else doc.paragraphs
        for start, end in spans:
            segment = text[start:end]
            if self.pattern is not None:
                if not search_with_timeout(self.pattern, segment):
                    hits.append(self.hit(start, end, doc))
                continue
            if self.style == "$sentence":
                if segment[0].isupper() or segment[0].isdigit():
                    continue  # the common case, without a regex
                lead = _SENTENCE_LEAD.match(segment)
                offset = lead.end() if lead else 0
                word = re.match(r"\w+", segment[offset:])
                if word and word.group()[0].isalpha() and word.group()[0].islower():
                    if word.group() not in self.exceptions and not _looks_like_handle(
                        segment, offset
                    ):
                        hits.append(self.hit(start + offset, start + offset + word.end(), doc))
            elif self.style == "$lower" and segment != segment.lower():
                hits.append(self.hit(start, end, doc))
            elif self.style == "$upper" and segment != segment.upper():
                hits.append(self.hit(start, end, doc))
            elif self.style == "$title":
                for word in re.finditer(r"\b[^\W\d_]{4,}\b", segment):
                    if word.group()[0].islower() and word.group() not in self.exceptions:
                        hits.append(self.hit(start + word.start(), start + word.end(), doc))
        return hits


def _looks_like_handle(segment: str, offset: int) -> bool:
    """Sentences may start with @handles, #hashtags or links, which keep their own case."""
    return offset > 0 and segment[offset - 1] in "@#" or segment[offset:].startswith("http")


_FORMULA_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.USub,
    ast.UAdd,
    ast.Pow,
    ast.Mod,
    ast.Call,
)
_FORMULA_FUNCTIONS = {"min": min, "max": max, "abs": abs, "sqrt": lambda x: x**0.5}
_VALE_ZERO_VARIABLES = ("pre", "list", "blockquote", "heading_h1", "heading_h2", "heading_h3")
_CONDITION_RE = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$")
_OPERATORS = {
    "<": float.__lt__,
    "<=": float.__le__,
    ">": float.__gt__,
    ">=": float.__ge__,
    "==": float.__eq__,
    "!=": float.__ne__,
}


class MetricChecker(Checker):
    """Evaluates a formula over text counts (readability, length, sentence length).

    ``formula`` is an arithmetic expression over Vale's variables (words, sentences, syllables,
    characters, ...) or one of flesch_reading_ease, fernandez_huerta, szigriszt_pazos;
    ``condition`` (e.g. ``< 55``) says when it is a violation; ``min_words`` skips texts too
    short for the formula to mean anything.
    """

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule)
        params = rule.params
        check_known_params(params, (*VALE_PASSTHROUGH, "formula", "condition", "min_words"))
        formula = param_str(params, "formula")
        try:
            tree = ast.parse(formula, mode="eval")
        except SyntaxError as exc:
            raise KindError(f"formula does not parse: {exc.msg}", "formula") from exc
        for node in ast.walk(tree):
            if not isinstance(node, _FORMULA_NODES):
                raise KindError(f"formula may not use {type(node).__name__}", "formula")
            if isinstance(node, ast.Call) and not (
                isinstance(node.func, ast.Name) and node.func.id in _FORMULA_FUNCTIONS
            ):
                raise KindError("formula may only call min, max, abs, sqrt", "formula")
        self.variables = sorted(
            {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - set(_FORMULA_FUNCTIONS)
        )
        self.code = compile(tree, f"<{rule.id}>", "eval")
        # A bare variable ("words") needs no evaluation.
        self.variable = tree.body.id if isinstance(tree.body, ast.Name) else None
        condition = _CONDITION_RE.match(param_str(params, "condition"))
        if condition is None:
            raise KindError("condition must look like '> 20' or '< 55'", "condition")
        self.operator = _OPERATORS[condition.group(1)]
        self.threshold = float(condition.group(2))
        self.min_words = param_int(params, "min_words", 0) or 0

    def _evaluate(self, stats: dict[str, float]) -> float | None:
        if self.variable is not None and self.variable in stats:
            return float(stats[self.variable])
        namespace: dict[str, Any] = {"__builtins__": {}, **_FORMULA_FUNCTIONS}
        for name in self.variables:
            if name in stats:
                namespace[name] = stats[name]
            elif name in _VALE_ZERO_VARIABLES:
                namespace[name] = 0
            else:
                return None
        try:
            return float(eval(self.code, namespace))  # noqa: S307 - AST checked above
        except ZeroDivisionError:
            return None

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        if self.rule.scope == "sentence":
            if self.variables == ["words"]:
                # Sentence length needs word counts only, not a full analysis per sentence.
                targets: list[tuple[int, int, Document | None, dict[str, float] | None]] = [
                    (s, e, None, {"words": count})
                    for (s, e), count in zip(doc.sentences, doc.sentence_word_counts, strict=True)
                ]
            else:
                targets = [
                    (s, e, Document(doc.text[s:e], doc.lang), None) for s, e in doc.sentences
                ]
        else:
            if doc.word_count < self.min_words:
                return ()
            targets = [(0, len(doc.text), doc, None)]
        hits = []
        for start, end, target, known in targets:
            stats = known if known is not None else target.stats  # type: ignore[union-attr]
            if stats["words"] < self.min_words:
                continue
            value = self._evaluate(stats)
            if value is not None and self.operator(value, self.threshold):
                shown = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
                hits.append(self.hit(start, end, doc, shown, value=shown))
        return hits


@kind("existence")
def compile_existence(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile an existence rule."""
    return ExistenceChecker(rule)


@kind("substitution")
def compile_substitution(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile a substitution rule."""
    return SubstitutionChecker(rule)


@kind("occurrence")
def compile_occurrence(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile an occurrence rule."""
    return OccurrenceChecker(rule)


@kind("repetition")
def compile_repetition(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile a repetition rule."""
    return RepetitionChecker(rule)


@kind("consistency")
def compile_consistency(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile a consistency rule."""
    return ConsistencyChecker(rule)


@kind("conditional")
def compile_conditional(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile a conditional rule."""
    return ConditionalChecker(rule)


@kind("capitalization")
def compile_capitalization(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile a capitalization rule."""
    return CapitalizationChecker(rule)


@kind("metric")
def compile_metric(rule: Rule, brand: BrandFacts) -> Checker:
    """Compile a metric rule."""
    return MetricChecker(rule)
