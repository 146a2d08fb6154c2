"""Examples-as-tests (LanguageTool style): every rule of every default pack runs its own
good and bad examples. A bad example must produce at least one violation of that rule, a good
example none."""

from __future__ import annotations

from typing import Any

import pytest

from services.guidelines.engine import (
    CheckContext,
    GuidelineConfig,
    Rule,
    RuleExample,
    RulePack,
    compile_guideline,
    load_default_packs,
)


def _all_rules() -> list[Rule]:
    return [rule for pack in load_default_packs().values() for rule in pack.rules]


def _example_cases() -> list[Any]:
    cases = []
    for rule in _all_rules():
        for kind, examples in (("bad", rule.examples.bad), ("good", rule.examples.good)):
            for index, example in enumerate(examples):
                cases.append(pytest.param(rule, kind, example, id=f"{rule.id}-{kind}{index}"))
    return cases


def _violations_of_rule(rule: Rule, example: RuleExample) -> list[str]:
    brand: dict[str, Any] = dict(rule.examples.brand)
    config = GuidelineConfig(packs=["under_test"], **brand)
    pack = RulePack(id="under_test", version="test", title="one rule", rules=(rule,))
    guideline = compile_guideline(config, {"under_test": pack})
    context_data = example.context if example.context is not None else rule.examples.context
    context = CheckContext(**context_data) if context_data else None
    lang = example.lang or (rule.languages[0] if rule.languages else "en")
    channel = example.channel or rule.examples.channel
    if rule.channels and channel is None:
        channel = rule.channels[0]
    result = guideline.check(example.text, lang=lang, channel=channel, context=context)
    return [v.message for v in result.violations if v.rule_id == rule.id]


def test_every_rule_has_good_and_bad_examples() -> None:
    missing = [r.id for r in _all_rules() if not r.examples.good or not r.examples.bad]
    assert missing == []


def test_default_packs_have_a_few_hundred_rules_in_both_languages() -> None:
    rules = _all_rules()
    assert len(rules) >= 200
    for lang in ("es", "en"):
        assert sum(1 for r in rules if not r.languages or lang in r.languages) >= 90


@pytest.mark.parametrize(("rule", "kind", "example"), _example_cases())
def test_rule_example(rule: Rule, kind: str, example: RuleExample) -> None:
    messages = _violations_of_rule(rule, example)
    if kind == "bad":
        assert messages, f"{rule.id} did not flag: {example.text!r}"
    else:
        assert messages == [], f"{rule.id} flagged a good example: {messages}"
