"""What every rule kind shares: hits, the checker base class, brand facts and the registry."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..models import CheckContext, Competitor, Rule, TermEntry
from ..text import Document


class KindError(ValueError):
    """A rule's kind-specific fields are invalid; ``field`` names the offending field."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class BrandFacts:
    """The parts of a brand's guideline that rules read (empty when validating a pack)."""

    competitors: tuple[Competitor, ...] = ()
    formality: str | None = None
    channel_limits: dict[str, int] = field(default_factory=dict)
    allowed_domains: tuple[str, ...] = ()
    terminology: tuple[TermEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    """One match of a rule: text[start:end], with the message already rendered."""

    start: int
    end: int
    message: str
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PhraseSpec:
    """A literal phrase a rule looks for, matched through the guideline's shared index.

    ``suggestions`` are the preferred replacements (substitution); a match equal to one of them
    is not a violation.
    """

    phrase: str
    case_sensitive: bool = False
    suggestions: tuple[str, ...] = ()
    exceptions: frozenset[str] = frozenset()


def render_message(template: str, match: str, *positional: str, **named: str) -> str:
    """Fill a rule message: ``%s`` in order (Vale style), ``{match}`` and other named fields."""
    if "%s" in template:
        values = list(positional) if positional else [match]
        for value in values:
            template = template.replace("%s", value, 1)
        template = template.replace("%s", match)
    if "{" in template:
        template = template.replace("{match}", match)
        for key, value in named.items():
            template = template.replace("{" + key + "}", value)
    return template


class Checker:
    """Compiled form of one rule. Subclasses override ``check`` and/or fill ``phrases``."""

    # False when all the work is done through the shared phrase index.
    has_check = True

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.phrases: list[PhraseSpec] = []

    def check(self, doc: Document, context: CheckContext | None) -> Iterable[Hit]:
        """Return the hits of this rule in ``doc``."""
        return ()

    def hit(self, start: int, end: int, doc: Document, *positional: str, **named: str) -> Hit:
        """Build a hit for text[start:end] with the rule's message and suggestions."""
        match = doc.text[start:end]
        rule = self.rule
        message = render_message(rule.message_for(doc.lang), match, *positional, **named)
        return Hit(start, end, message, rule.suggestions_for(doc.lang))


KindCompiler = Callable[[Rule, BrandFacts], Checker]
KIND_COMPILERS: dict[str, KindCompiler] = {}


def kind(*names: str) -> Callable[[KindCompiler], KindCompiler]:
    """Register a compiler for one or more rule kinds."""

    def register(compiler: KindCompiler) -> KindCompiler:
        for name in names:
            KIND_COMPILERS[name] = compiler
        return compiler

    return register


# --- typed access to params ------------------------------------------------------------------


def param_bool(params: dict[str, Any], name: str, default: bool) -> bool:
    """Read a boolean param."""
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise KindError(f"'{name}' must be true or false", name)
    return value


def param_int(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
    """Read an integer param (None when absent and no default)."""
    value = params.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise KindError(f"'{name}' must be an integer", name)
    return value


def param_str(params: dict[str, Any], name: str, default: str | None = None) -> str:
    """Read a required (or defaulted) string param."""
    value = params.get(name, default)
    if not isinstance(value, str) or not value:
        raise KindError(f"'{name}' must be a non-empty string", name)
    return value


def param_str_list(params: dict[str, Any], name: str, *, required: bool = False) -> list[str]:
    """Read a list of strings (a single string counts as a one-item list)."""
    value = params.get(name)
    if value is None:
        if required:
            raise KindError(f"'{name}' is required", name)
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise KindError(f"'{name}' must be a list of strings", name)
    if required and not value:
        raise KindError(f"'{name}' must not be empty", name)
    return list(value)


def param_by_language(params: dict[str, Any], name: str) -> dict[str, list[str]]:
    """Read a word list that is either one list or a mapping language -> list ('*' = all)."""
    value = params.get(name)
    if value is None:
        return {}
    if isinstance(value, list):
        return {"*": param_str_list(params, name)}
    if isinstance(value, dict):
        result: dict[str, list[str]] = {}
        for lang, words in value.items():
            result[str(lang)] = param_str_list({name: words}, name)
        return result
    raise KindError(f"'{name}' must be a list or a mapping of language to list", name)


def check_known_params(params: dict[str, Any], allowed: Iterable[str]) -> None:
    """Refuse params this kind does not understand (typos must not pass silently)."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise KindError(f"unknown field(s) for this kind: {', '.join(unknown)}", unknown[0])
