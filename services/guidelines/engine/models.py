"""Data model of the rule engine: rules, packs, a brand's guideline, check context and results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.limits import InputModel

Level = Literal["error", "warning", "suggestion"]
Goal = Literal["standards", "tone", "style", "legal", "hr"]
Formality = Literal["tu", "usted", "vosotros"]
TermStatus = Literal["preferred", "admitted", "deprecated"]

LEVELS: tuple[Level, ...] = ("error", "warning", "suggestion")
GOALS: tuple[Goal, ...] = ("standards", "tone", "style", "legal", "hr")


@dataclass(frozen=True, slots=True)
class RuleExample:
    """One good or bad example text, optionally with its own language, channel and context.

    The language defaults to the rule's first language ('en' for rules without languages).
    """

    text: str
    channel: str | None = None
    context: dict[str, Any] | None = None
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class RuleExamples:
    """Examples that the test suite runs for a rule (LanguageTool-style examples-as-tests).

    ``brand`` holds guideline fields the examples assume (competitors, formality, ...).
    """

    good: tuple[RuleExample, ...] = ()
    bad: tuple[RuleExample, ...] = ()
    brand: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] | None = None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """A validated rule as written in a pack; ``params`` holds the kind-specific fields."""

    id: str
    kind: str
    level: Level
    goal: Goal
    message: str
    languages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    scope: str = "text"
    params: dict[str, Any] = field(default_factory=dict)
    suggestions: tuple[str, ...] = ()
    description: str = ""
    link: str = ""
    examples: RuleExamples = field(default_factory=RuleExamples)
    source: str = ""
    line: int | None = None
    # The message and suggestions in each language ("es", "en") when the pack gives them per
    # language; ``message``/``suggestions`` are the fallback for any other language.
    messages: dict[str, str] = field(default_factory=dict)
    suggestions_by_lang: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def message_for(self, lang: str) -> str:
        """The message in the reply's language, else the rule's default message."""
        return self.messages.get(lang, self.message)

    def suggestions_for(self, lang: str) -> tuple[str, ...]:
        return self.suggestions_by_lang.get(lang, self.suggestions)


@dataclass(frozen=True, slots=True)
class RulePack:
    """A versioned set of rules loaded from one YAML document."""

    id: str
    version: str
    title: str
    rules: tuple[Rule, ...]
    source: str = ""
    skipped: tuple[str, ...] = ()  # rules not imported (e.g. unsupported Vale kinds), with why

    def rule(self, rule_id: str) -> Rule:
        """Return the rule with this id (KeyError when absent)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


class RuleOverride(BaseModel):
    """A brand's change to one pack rule: disable it, change its level or its params."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    level: Level | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class TermEntry(BaseModel):
    """One terminology entry (Acrolinx-style): deprecated terms point at the preferred one."""

    model_config = ConfigDict(extra="forbid")

    term: str
    status: TermStatus = "deprecated"
    preferred: str | None = None
    lang: str | None = None
    case_sensitive: bool = False


class Competitor(BaseModel):
    """A competitor brand, with the other names customers and agents use for it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    aliases: list[str] = Field(default_factory=list)


GUIDELINE_EXAMPLE: dict[str, Any] = {
    "packs": ["standards", "tone_style", "legal", "hr"],
    "overrides": {"tone.es.greeting": {"level": "suggestion"}},
    "terminology": [
        {"term": "incidencia", "status": "deprecated", "preferred": "consulta", "lang": "es"}
    ],
    "competitors": [{"name": "Globex", "aliases": ["Globex Corp"]}],
    "formality": "usted",
    "channel_limits": {"x": 280},
    "allowed_domains": ["acme.example"],
    "publish_policy": {"min_score": 70, "blocking_levels": ["error", "warning"]},
}


def _default_blocking_levels() -> list[Level]:
    return ["error"]


PUBLISH_POLICY_EXAMPLES: list[Any] = [
    {"min_score": 60, "blocking_levels": ["error"]},
    {"min_score": 80, "blocking_levels": ["error", "warning"]},
]


class PublishPolicy(BaseModel):
    """When a checked reply may be published: ``passed`` is true only under this policy.

    It is part of the brand's guideline, so each guideline version keeps the policy it was
    published with; a guideline without one gets the defaults (60, errors block).
    """

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": PUBLISH_POLICY_EXAMPLES}
    )

    min_score: float = Field(
        default=60.0,
        ge=0,
        le=100,
        description="Lowest overall score a publishable reply may have (60: 'poor' is refused)",
    )
    blocking_levels: list[Level] = Field(
        default_factory=_default_blocking_levels,
        description="Violation levels that make a reply unpublishable whatever its score",
    )


class GuidelineConfig(InputModel):
    """A brand's guideline: chosen packs plus overrides, terminology and brand facts."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [GUIDELINE_EXAMPLE]})

    packs: list[str] = Field(default_factory=lambda: ["standards", "tone_style", "legal", "hr"])
    overrides: dict[str, RuleOverride] = Field(default_factory=dict)
    terminology: list[TermEntry] = Field(default_factory=list)
    competitors: list[Competitor] = Field(default_factory=list)
    formality: Formality | None = None
    channel_limits: dict[str, int] = Field(default_factory=dict)
    allowed_domains: list[str] = Field(default_factory=list)
    custom_rules: str | None = None
    publish_policy: PublishPolicy = Field(
        default_factory=PublishPolicy,
        description="When a checked reply may be published (the check's 'passed'): the lowest "
        "score and the violation levels that block; defaults: 60 and errors",
    )


class CheckContext(BaseModel):
    """What the reply answers: the inbound text, its sentiment and the case intent."""

    model_config = ConfigDict(extra="forbid")

    inbound_text: str | None = None
    inbound_sentiment: Literal["negative", "neutral", "positive"] | None = None
    intent: str | None = None
    customer_name: str | None = None


class Span(BaseModel):
    """Character offsets into the checked text: ``text[start:end]``."""

    start: int
    end: int


class Violation(BaseModel):
    """One broken rule, explained."""

    rule_id: str
    level: Level
    goal: Goal
    message: str
    span: Span
    match: str
    suggestions: list[str] = Field(default_factory=list)


class Blocker(BaseModel):
    """Why a reply is not publishable under the brand's policy, in the reply's language."""

    code: Literal["score_below_minimum", "blocking_violation"]
    message: str
    rule_ids: list[str] = Field(default_factory=list)


class CheckResult(BaseModel):
    """Outcome of one check: passed means publishable under the brand's ``PublishPolicy``
    (no violation at a blocking level, score at least the minimum); ``blockers`` says why not.

    Scores follow the Acrolinx idea: every goal starts at 100 and loses points per violation,
    weighted by level (see ``scoring.LEVEL_PENALTY``); the overall score does the same over all
    goals. Bands: >= 80 good, 60-79 review, < 60 poor.
    """

    passed: bool
    score: float
    goal_scores: dict[str, float]
    band: Literal["good", "review", "poor"]
    violations: list[Violation]
    skipped_rules: list[str] = Field(default_factory=list)
    blockers: list[Blocker] = Field(default_factory=list)
    policy: PublishPolicy = Field(default_factory=PublishPolicy)
