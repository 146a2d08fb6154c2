"""Evaluate a brand's routing rules against the facts of one interaction (pure, no I/O).

`compile_rules` turns stored rules into a `RuleSet` once (regexes compiled, keywords folded,
conditions turned into small checks, rules ordered by position then id); `decide` runs the
enabled rules in order, merges the actions of those that match, stops after a matching rule
with `stop`, and falls back to the responsibilities matrix for the department.

Merging the actions of matched rules:

- department and SLA policy: the first matching rule that sets one;
- priority: the most urgent that any matching rule sets (normal when none does), so a crisis
  rule further down still raises the case to urgent;
- tags and skills: the union, in rule order; require approval, notify, close: any rule.

No rule sets a department: the matrix gives the owner of the intent (the `other` row when the
intent has none); a matrix row of None (spam) closes the case without an owner. A rule that
closes the case without naming a department leaves it without one.

`explain=True` (the default; `POST /v1/rules/test`) records, in English and Spanish, why each
rule matched (every condition that held) or did not (the first that failed); the consumer
passes `explain=False` and skips building those texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from services.routing.rules.models import RuleActions, RuleConditions, StoredRule, TimeWindow
from shared.events.cases import Priority
from shared.patterns import compile_author_pattern, search_with_timeout
from shared.text.tokens import fold

_TOKEN = re.compile(r"\w+", re.UNICODE)
_URGENCY = {Priority.urgent: 0, Priority.high: 1, Priority.normal: 2, Priority.low: 3}
DEFAULT_PRIORITY = Priority.normal
FALLBACK_INTENT = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingFacts:
    """What routing knows about one inbound interaction when it decides."""

    brand_id: str
    channel: str
    account_id: str | None = None
    lang: str | None = None
    intent: str | None = None
    intent_confidence: float | None = None
    sentiment_label: str | None = None
    sentiment_score: float | None = None
    text: str = ""
    author_followers: int | None = None
    author_verified: bool | None = None
    pii: bool = False
    vip: bool = False
    known_author: bool = False
    outside_working_hours: bool = False
    now: datetime | None = None


@dataclass(frozen=True, slots=True)
class MatchedRule:
    id: str
    version: int
    name: str


@dataclass(frozen=True, slots=True)
class ExplanationLine:
    """One line of why: `rule_id` None for lines about the decision as a whole."""

    rule_id: str | None
    matched: bool | None
    code: str  # machine-readable: matched, no_match, disabled, skipped_after_stop, department...
    en: str
    es: str

    def text(self, lang: str = "en") -> str:
        return self.es if lang == "es" else self.en


@dataclass(frozen=True, slots=True)
class Decision:
    matched: tuple[MatchedRule, ...]
    department: str | None
    department_source: str  # "rule", "responsibilities" or "none"
    priority: Priority
    tags: tuple[str, ...]
    sla_policy_id: str | None
    require_approval: bool
    skills_required: tuple[str, ...]
    notify: bool
    close: bool
    explanation: tuple[ExplanationLine, ...] = ()

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        """JSON-ready; explanation lines keep both languages unless `lang` picks one."""
        return {
            "matched": [{"id": m.id, "version": m.version, "name": m.name} for m in self.matched],
            "department": self.department,
            "department_source": self.department_source,
            "priority": self.priority.value,
            "tags": list(self.tags),
            "sla_policy_id": self.sla_policy_id,
            "require_approval": self.require_approval,
            "skills_required": list(self.skills_required),
            "notify": self.notify,
            "close": self.close,
            "explanation": [
                {
                    "rule_id": line.rule_id,
                    "matched": line.matched,
                    "code": line.code,
                    **({"text": line.text(lang)} if lang else {"en": line.en, "es": line.es}),
                }
                for line in self.explanation
            ],
        }


class _KeywordIndex:
    """Every keyword of a rule set, so one pass over a text finds all it contains: single
    words by set intersection, phrases only when the text has their first word."""

    __slots__ = ("words", "phrases_by_first")

    def __init__(self) -> None:
        self.words: set[str] = set()
        self.phrases_by_first: dict[str, set[str]] = {}

    def add(self, keyword: str) -> None:
        first, _, rest = keyword.partition(" ")
        if rest:
            self.phrases_by_first.setdefault(first, set()).add(keyword)
        elif keyword:
            self.words.add(keyword)


class _Text:
    """The interaction's text, folded and split into words once per decision, on demand."""

    __slots__ = ("raw", "_words", "_padded", "_hits", "_index", "timed_out")

    def __init__(self, raw: str, index: _KeywordIndex | None = None) -> None:
        self.raw = raw
        self._words: frozenset[str] | None = None
        self._padded = ""
        self._hits: frozenset[str] | None = None
        self._index = index
        self.timed_out: set[str] = set()

    @property
    def hits(self) -> frozenset[str]:
        """The rule set's keywords (normalised) that the text contains."""
        if self._hits is None:
            words = self.words
            index = self._index or _KeywordIndex()
            found = set(index.words.intersection(words))
            for first in words.intersection(index.phrases_by_first):
                found.update(p for p in index.phrases_by_first[first] if self.has_phrase(p))
            self._hits = frozenset(found)
        return self._hits

    def _split(self) -> None:
        tokens = _TOKEN.findall(fold(self.raw))
        self._words = frozenset(tokens)
        self._padded = f" {' '.join(tokens)} "

    @property
    def words(self) -> frozenset[str]:
        if self._words is None:
            self._split()
        assert self._words is not None
        return self._words

    def has_phrase(self, phrase: str) -> bool:
        if self._words is None:
            self._split()
        return f" {phrase} " in self._padded


def normalise_keyword(keyword: str) -> str:
    """A keyword as it is matched: folded (case, accents; ñ kept) words joined by one space."""
    return " ".join(_TOKEN.findall(fold(keyword)))


Predicate = Callable[[RoutingFacts, _Text], bool]
Describe = Callable[[RoutingFacts, _Text, bool], tuple[str, str]]


@dataclass(frozen=True, slots=True)
class _Check:
    field: str
    holds: Predicate
    describe: Describe
    # For a condition that is a set membership of one fact (channel, language, intent,
    # account): the fact and the set, so `decide` can pre-filter rules per combination.
    gate: tuple[str, frozenset[str]] | None = None


def _listing(values: Sequence[object]) -> str:
    return ", ".join(str(value) for value in values)


GATED_FACTS = ("channel", "lang", "intent", "account_id")


def _member_check(
    name: str,
    attribute: str,
    wanted: Sequence[object],
    label_en: str,
    label_es: tuple[str, str],  # (article, noun): ("la", "intención")
) -> _Check:
    # StrEnum members hash and compare as their values, so facts given as plain strings or
    # as enums both find them.
    allowed = frozenset(str(value) for value in wanted)
    shown = _listing(wanted)
    read = attrgetter(attribute)
    article, noun = label_es

    def holds(facts: RoutingFacts, _text: _Text) -> bool:
        return read(facts) in allowed

    def describe(facts: RoutingFacts, _text: _Text, ok: bool) -> tuple[str, str]:
        value = read(facts)
        if value is None:
            return (
                f"unknown {label_en} (wanted {shown})",
                f"dato desconocido: {noun} (se pedía {shown})",
            )
        if ok:
            return (
                f"{label_en} {value} is one of {shown}",
                f"{article} {noun} {value} está entre {shown}",
            )
        return (
            f"{label_en} {value} is not one of {shown}",
            f"{article} {noun} {value} no está entre {shown}",
        )

    gate = (attribute, allowed) if attribute in GATED_FACTS else None
    return _Check(name, holds, describe, gate)


def _minimum_check(
    name: str, attribute: str, minimum: float, label_en: str, label_es: str
) -> _Check:
    read = attrgetter(attribute)

    def holds(facts: RoutingFacts, _text: _Text) -> bool:
        value = read(facts)
        return value is not None and value >= minimum

    def describe(facts: RoutingFacts, _text: _Text, ok: bool) -> tuple[str, str]:
        value = getattr(facts, attribute)
        if value is None:
            return (
                f"unknown {label_en} (wanted ≥ {minimum})",
                f"dato desconocido: {label_es} (se pedía ≥ {minimum})",
            )
        sign = "≥" if ok else "<"
        return (f"{label_en} {value} {sign} {minimum}", f"{label_es} {value} {sign} {minimum}")

    return _Check(name, holds, describe)


_FLAG_TEXT: dict[str, tuple[str, str, str, str]] = {
    # field: (en when true, en when false, es when true, es when false)
    "verified": (
        "the author is verified",
        "the author is not verified",
        "el autor está verificado",
        "el autor no está verificado",
    ),
    "pii": (
        "the text holds personal data",
        "the text holds no personal data",
        "el texto contiene datos personales",
        "el texto no contiene datos personales",
    ),
    "outside_working_hours": (
        "outside working hours",
        "inside working hours",
        "fuera del horario laboral",
        "dentro del horario laboral",
    ),
    "vip": (
        "the author is a VIP",
        "the author is not a VIP",
        "el autor es VIP",
        "el autor no es VIP",
    ),
    "known_author": (
        "the author is known",
        "the author is not known",
        "el autor es conocido",
        "el autor no es conocido",
    ),
}
_FLAG_ATTRIBUTE = {"verified": "author_verified"}


def _flag_check(name: str, wanted: bool) -> _Check:
    attribute = _FLAG_ATTRIBUTE.get(name, name)
    en_true, en_false, es_true, es_false = _FLAG_TEXT[name]

    def holds(facts: RoutingFacts, _text: _Text) -> bool:
        return bool(getattr(facts, attribute)) is wanted

    def describe(facts: RoutingFacts, _text: _Text, ok: bool) -> tuple[str, str]:
        actual = bool(getattr(facts, attribute))
        en, es = (en_true, es_true) if actual else (en_false, es_false)
        want_en = "wanted" if ok else "but the rule wants"
        want_es = "como se pedía" if ok else "pero la regla pide"
        return (
            f"{en} ({want_en} {name}={str(wanted).lower()})",
            f"{es} ({want_es} {name}={str(wanted).lower()})",
        )

    return _Check(name, holds, describe)


def _score_check(low: float | None, high: float | None) -> _Check:
    lowest = -1.0 if low is None else low
    highest = 1.0 if high is None else high

    def holds(facts: RoutingFacts, _text: _Text) -> bool:
        score = facts.sentiment_score
        return score is not None and lowest <= score <= highest

    def describe(facts: RoutingFacts, _text: _Text, ok: bool) -> tuple[str, str]:
        score = facts.sentiment_score
        span = f"[{lowest}, {highest}]"
        if score is None:
            return (
                f"sentiment score unknown (wanted {span})",
                f"puntuación de sentimiento desconocida (se pedía {span})",
            )
        if ok:
            return (
                f"sentiment score {score} is in {span}",
                f"la puntuación de sentimiento {score} está en {span}",
            )
        return (
            f"sentiment score {score} is outside {span}",
            f"la puntuación de sentimiento {score} está fuera de {span}",
        )

    return _Check("sentiment_score", holds, describe)


def _time_check(window: TimeWindow) -> _Check:
    zone = ZoneInfo(window.time_zone)
    shown = f"{window.start:%H:%M}-{window.end:%H:%M} {window.time_zone}"

    def holds(facts: RoutingFacts, _text: _Text) -> bool:
        return facts.now is not None and window.contains(facts.now)

    def describe(facts: RoutingFacts, _text: _Text, ok: bool) -> tuple[str, str]:
        if facts.now is None:
            return (f"no time given (wanted {shown})", f"sin hora (se pedía {shown})")
        local = f"{facts.now.astimezone(zone):%a %H:%M}"
        if ok:
            return (f"{local} is within {shown}", f"{local} está dentro de {shown}")
        return (f"{local} is outside {shown}", f"{local} está fuera de {shown}")

    return _Check("time_of_day", holds, describe)


def _keywords_check(keywords: Sequence[str], index: _KeywordIndex) -> _Check:
    normalised = [normalise_keyword(keyword) for keyword in keywords]
    wanted = frozenset(k for k in normalised if k)
    for keyword in wanted:
        index.add(keyword)
    originals = dict(zip(normalised, keywords, strict=True))

    def holds(_facts: RoutingFacts, text: _Text) -> bool:
        return not wanted.isdisjoint(text.hits)

    def found(text: _Text) -> list[str]:
        hits = text.hits
        return list(dict.fromkeys(originals[k] for k in normalised if k in hits))

    def describe(_facts: RoutingFacts, text: _Text, ok: bool) -> tuple[str, str]:
        if ok:
            hits = _listing(found(text))
            return (f"the text contains {hits}", f"el texto contiene {hits}")
        shown = _listing(keywords[:10]) + (" …" if len(keywords) > 10 else "")
        return (f"the text contains none of {shown}", f"el texto no contiene ninguna de {shown}")

    return _Check("keywords", holds, describe)


def _pattern_check(rule_key: str, pattern: str) -> _Check:
    compiled = compile_author_pattern(pattern, ignorecase=True)

    def holds(_facts: RoutingFacts, text: _Text) -> bool:
        try:
            return search_with_timeout(compiled, text.raw) is not None
        except TimeoutError:
            text.timed_out.add(rule_key)
            return False

    def describe(_facts: RoutingFacts, text: _Text, ok: bool) -> tuple[str, str]:
        if rule_key in text.timed_out:
            return (
                f"the pattern {pattern!r} took too long and was skipped",
                f"el patrón {pattern!r} tardó demasiado y se omitió",
            )
        if ok:
            hit = search_with_timeout(compiled, text.raw)
            shown = hit.group(0) if hit is not None else ""
            return (
                f"the pattern {pattern!r} matches {shown!r}",
                f"el patrón {pattern!r} coincide con {shown!r}",
            )
        return (f"the pattern {pattern!r} does not match", f"el patrón {pattern!r} no coincide")

    return _Check("pattern", holds, describe)


def _compile_conditions(
    rule_key: str, conditions: RuleConditions, index: _KeywordIndex
) -> tuple[_Check, ...]:
    """Checks in the order they run: cheap equality first, text matching last."""
    checks: list[_Check] = []
    c = conditions
    if c.channels is not None:
        checks.append(_member_check("channels", "channel", c.channels, "channel", ("el", "canal")))
    if c.account_ids is not None:
        checks.append(
            _member_check("account_ids", "account_id", c.account_ids, "account", ("la", "cuenta"))
        )
    if c.languages is not None:
        checks.append(_member_check("languages", "lang", c.languages, "language", ("el", "idioma")))
    if c.intents is not None:
        checks.append(_member_check("intents", "intent", c.intents, "intent", ("la", "intención")))
    if c.min_intent_confidence is not None:
        checks.append(
            _minimum_check(
                "min_intent_confidence",
                "intent_confidence",
                c.min_intent_confidence,
                "intent confidence",
                "confianza de la intención",
            )
        )
    if c.sentiment_labels is not None:
        checks.append(
            _member_check(
                "sentiment_labels",
                "sentiment_label",
                c.sentiment_labels,
                "sentiment",
                ("el", "sentimiento"),
            )
        )
    if c.sentiment_score_min is not None or c.sentiment_score_max is not None:
        checks.append(_score_check(c.sentiment_score_min, c.sentiment_score_max))
    if c.min_followers is not None:
        checks.append(
            _minimum_check(
                "min_followers", "author_followers", c.min_followers, "followers", "seguidores"
            )
        )
    for flag in ("verified", "pii", "outside_working_hours", "vip", "known_author"):
        wanted = getattr(c, flag)
        if wanted is not None:
            checks.append(_flag_check(flag, wanted))
    if c.time_of_day is not None:
        checks.append(_time_check(c.time_of_day))
    if c.keywords is not None:
        checks.append(_keywords_check(c.keywords, index))
    if c.pattern is not None:
        checks.append(_pattern_check(rule_key, c.pattern))
    return tuple(checks)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    version: int
    name: str
    position: int
    enabled: bool
    stop: bool
    actions: RuleActions
    checks: tuple[_Check, ...]

    @property
    def gates(self) -> tuple[tuple[str, frozenset[str]], ...]:
        return tuple(check.gate for check in self.checks if check.gate is not None)

    @property
    def other_checks(self) -> tuple[_Check, ...]:
        return tuple(check for check in self.checks if check.gate is None)


_GatedRule = tuple[CompiledRule, tuple[_Check, ...]]
MAX_CACHED_COMBINATIONS = 4096


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A brand's rules ready to evaluate, in evaluation order.

    Without explanations, `decide` first keeps the enabled rules whose channel, language,
    intent and account conditions hold for the interaction's combination of those four facts
    (worked out once per combination and cached here), then runs only their other checks.
    """

    rules: tuple[CompiledRule, ...]
    # (id, version) of every rule, in order: equal fingerprints mean the same rules.
    fingerprint: tuple[tuple[str, int], ...] = field(default=())
    keywords: _KeywordIndex = field(default_factory=_KeywordIndex, compare=False, repr=False)
    _gated: dict[tuple[object, ...], tuple[_GatedRule, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def candidates(self, facts: RoutingFacts) -> tuple[_GatedRule, ...]:
        """Enabled rules whose gated conditions hold for `facts`, with their other checks."""
        key = (facts.channel, facts.lang, facts.intent, facts.account_id)
        found = self._gated.get(key)
        if found is None:
            values = dict(zip(GATED_FACTS, key, strict=True))
            found = tuple(
                (rule, rule.other_checks)
                for rule in self.rules
                if rule.enabled
                and all(values[attribute] in allowed for attribute, allowed in rule.gates)
            )
            if len(self._gated) >= MAX_CACHED_COMBINATIONS:
                self._gated.clear()
            self._gated[key] = found
        return found


def compile_rules(rules: Sequence[StoredRule]) -> RuleSet:
    """Compile stored rules (ordered by position, then id). The specs were validated on the
    way in; a pattern stored before a stricter safety check raises UnsafePatternError here."""
    ordered = sorted(rules, key=lambda rule: (rule.spec.position, rule.id))
    index = _KeywordIndex()
    compiled = tuple(
        CompiledRule(
            id=rule.id,
            version=rule.version,
            name=rule.spec.name,
            position=rule.spec.position,
            enabled=rule.spec.enabled,
            stop=rule.spec.stop,
            actions=rule.spec.actions,
            checks=_compile_conditions(rule.id, rule.spec.conditions, index),
        )
        for rule in ordered
    )
    return RuleSet(compiled, tuple((rule.id, rule.version) for rule in ordered), index)


def _line(
    rule: CompiledRule | None, matched: bool | None, code: str, en: str, es: str
) -> ExplanationLine:
    return ExplanationLine(rule.id if rule else None, matched, code, en, es)


def decide(
    ruleset: RuleSet,
    facts: RoutingFacts,
    responsibilities: Mapping[str, str | None],
    *,
    explain: bool = True,
) -> Decision:
    """Run the rules on `facts`; the department falls back to `responsibilities` (intent →
    department, None for closed)."""
    text = _Text(facts.text, ruleset.keywords)
    lines: list[ExplanationLine] = []
    matched: list[CompiledRule] = []
    if not explain:
        for rule, checks in ruleset.candidates(facts):
            for check in checks:
                if not check.holds(facts, text):
                    break
            else:
                matched.append(rule)
                if rule.stop:
                    break
        return _merge(matched, facts, responsibilities, lines, explain)
    stopped_by: CompiledRule | None = None
    for rule in ruleset.rules:
        if stopped_by is not None:
            if explain:
                lines.append(
                    _line(
                        rule,
                        None,
                        "skipped_after_stop",
                        f"rule {rule.name!r}: not evaluated (rule {stopped_by.name!r} stops)",
                        f"regla {rule.name!r}: no evaluada (la regla {stopped_by.name!r} detiene)",
                    )
                )
            continue
        if not rule.enabled:
            if explain:
                lines.append(
                    _line(
                        rule,
                        None,
                        "disabled",
                        f"rule {rule.name!r}: disabled",
                        f"regla {rule.name!r}: desactivada",
                    )
                )
            continue
        failed: _Check | None = None
        for check in rule.checks:
            if not check.holds(facts, text):
                failed = check
                break
        if failed is not None:
            if explain:
                en, es = failed.describe(facts, text, False)
                lines.append(
                    _line(
                        rule,
                        False,
                        f"no_match:{failed.field}",
                        f"rule {rule.name!r} does not match: {en}",
                        f"la regla {rule.name!r} no coincide: {es}",
                    )
                )
            continue
        matched.append(rule)
        if explain:
            reasons = [check.describe(facts, text, True) for check in rule.checks]
            en = "; ".join(r[0] for r in reasons) or "it has no conditions"
            es = "; ".join(r[1] for r in reasons) or "no tiene condiciones"
            lines.append(
                _line(
                    rule,
                    True,
                    "matched",
                    f"rule {rule.name!r} matches: {en}",
                    f"la regla {rule.name!r} coincide: {es}",
                )
            )
        if rule.stop:
            stopped_by = rule
    return _merge(matched, facts, responsibilities, lines, explain)


def _merge(
    matched: list[CompiledRule],
    facts: RoutingFacts,
    responsibilities: Mapping[str, str | None],
    lines: list[ExplanationLine],
    explain: bool,
) -> Decision:
    department: str | None = None
    department_rule: CompiledRule | None = None
    sla_policy_id: str | None = None
    priority: Priority | None = None
    tags: dict[str, None] = {}
    skills: dict[str, None] = {}
    require_approval = notify = close = False
    for rule in matched:
        actions = rule.actions
        if department is None and actions.department is not None:
            department, department_rule = actions.department, rule
        if sla_policy_id is None and actions.sla_policy_id is not None:
            sla_policy_id = actions.sla_policy_id
        if actions.priority is not None and (
            priority is None or _URGENCY[actions.priority] < _URGENCY[priority]
        ):
            priority = actions.priority
        tags.update(dict.fromkeys(actions.tags))
        skills.update(dict.fromkeys(actions.skills_required))
        require_approval = require_approval or actions.require_approval
        notify = notify or actions.notify
        close = close or actions.close
    source = "rule"
    if department_rule is not None:
        if explain:
            lines.append(
                _line(
                    None,
                    None,
                    "department",
                    f"department {department} from rule {department_rule.name!r}",
                    f"departamento {department} por la regla {department_rule.name!r}",
                )
            )
    elif close:
        source = "none"
        if explain:
            lines.append(
                _line(
                    None,
                    None,
                    "department",
                    "closed by a rule: no department",
                    "cerrado por una regla: sin departamento",
                )
            )
    else:
        intent = facts.intent
        row = intent if intent is not None and intent in responsibilities else FALLBACK_INTENT
        if row in responsibilities:
            department = responsibilities[row]
            source = "responsibilities"
            if department is None:
                close = True
                source = "none"
                if explain:
                    lines.append(
                        _line(
                            None,
                            None,
                            "department",
                            f"intent {row}: no owning department in the responsibilities, closed",
                            f"intención {row}: sin departamento responsable, se cierra",
                        )
                    )
            elif explain:
                lines.append(
                    _line(
                        None,
                        None,
                        "department",
                        f"department {department} owns intent {row} (responsibilities)",
                        f"el departamento {department} es responsable de la intención {row}",
                    )
                )
        else:
            source = "none"
            if explain:
                lines.append(
                    _line(
                        None,
                        None,
                        "department",
                        "no rule and no responsibility gives a department",
                        "ninguna regla ni responsabilidad asigna un departamento",
                    )
                )
    return Decision(
        matched=tuple(MatchedRule(rule.id, rule.version, rule.name) for rule in matched),
        department=department,
        department_source=source,
        priority=priority or DEFAULT_PRIORITY,
        tags=tuple(tags),
        sla_policy_id=sla_policy_id,
        require_approval=require_approval,
        skills_required=tuple(skills),
        notify=notify,
        close=close,
        explanation=tuple(lines),
    )
