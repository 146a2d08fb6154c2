"""Routing rules (pure: no FastAPI, no database): models, defaults and the engine.

- ``RuleSpec`` / ``RuleConditions`` / ``RuleActions``: a rule as written (request bodies);
  ``StoredRule``: with its id and version.
- ``compile_rules(stored) -> RuleSet`` once per change of a brand's rules;
  ``decide(ruleset, facts, responsibilities) -> Decision`` per interaction.
- ``DEFAULT_DEPARTMENTS``, ``DEFAULT_RESPONSIBILITIES``, ``DEFAULT_RULES``: a brand's start.
"""

from .defaults import (
    CRISIS_WORDS,
    DEFAULT_DEPARTMENT_SLUGS,
    DEFAULT_DEPARTMENTS,
    DEFAULT_RESPONSIBILITIES,
    DEFAULT_RULES,
    LARGE_REACH_FOLLOWERS,
    DefaultDepartment,
)
from .engine import (
    CompiledRule,
    Decision,
    ExplanationLine,
    MatchedRule,
    RoutingFacts,
    RuleSet,
    compile_rules,
    decide,
    normalise_keyword,
)
from .models import RuleActions, RuleConditions, RuleSpec, StoredRule, TimeWindow

__all__ = [
    "CRISIS_WORDS",
    "DEFAULT_DEPARTMENTS",
    "DEFAULT_DEPARTMENT_SLUGS",
    "DEFAULT_RESPONSIBILITIES",
    "DEFAULT_RULES",
    "LARGE_REACH_FOLLOWERS",
    "CompiledRule",
    "Decision",
    "DefaultDepartment",
    "ExplanationLine",
    "MatchedRule",
    "RoutingFacts",
    "RuleActions",
    "RuleConditions",
    "RuleSet",
    "RuleSpec",
    "StoredRule",
    "TimeWindow",
    "compile_rules",
    "decide",
    "normalise_keyword",
]
