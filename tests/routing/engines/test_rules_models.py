"""Rule bodies: unknown fields, unsafe patterns and senseless values are refused by field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.routing.rules import RuleActions, RuleConditions, RuleSpec


def errors_of(body: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        RuleSpec.model_validate(body)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in caught.value.errors()]


def rule(
    conditions: dict[str, Any] | None = None, actions: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": "r",
        "conditions": conditions or {},
        "actions": actions if actions is not None else {"department": "pr"},
    }


def test_a_full_rule_is_accepted() -> None:
    spec = RuleSpec.model_validate(
        rule(
            {
                "channels": ["x", "instagram"],
                "account_ids": ["acc-1"],
                "languages": ["es"],
                "intents": ["complaint"],
                "min_intent_confidence": 0.5,
                "sentiment_labels": ["negative"],
                "sentiment_score_min": -1,
                "sentiment_score_max": -0.3,
                "keywords": ["reembolso", "refund", "reembolso"],
                "pattern": r"\bpedido\s+\d{6,}\b",
                "min_followers": 1000,
                "verified": True,
                "pii": False,
                "outside_working_hours": True,
                "vip": True,
                "known_author": False,
            },
            {
                "department": "customer_service",
                "priority": "high",
                "tags": ["refund", "refund"],
                "sla_policy_id": "pol-1",
                "require_approval": True,
                "skills_required": ["billing"],
                "notify": True,
            },
        )
    )
    assert spec.conditions.keywords == ["reembolso", "refund"]
    assert spec.actions.tags == ["refund"]
    assert spec.enabled
    assert not spec.stop
    assert spec.position == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (rule({"chanels": ["x"]}), "conditions.chanels"),
        (rule(actions={"department": "pr", "escalate": True}), "actions.escalate"),
        ({**rule(), "colour": "red"}, "colour"),
        (rule({"pattern": "(a+)+$"}), "conditions.pattern"),
        (rule({"pattern": "(a|a)*b"}), "conditions.pattern"),
        (rule({"pattern": "([unclosed"}), "conditions.pattern"),
        (rule({"pattern": "x" * 501}), "conditions.pattern"),
        (
            rule({"sentiment_score_min": 0.5, "sentiment_score_max": -0.5}),
            "conditions.sentiment_score_max",
        ),
        (rule({"sentiment_score_min": -2}), "conditions.sentiment_score_min"),
        (rule({"min_intent_confidence": 1.5}), "conditions.min_intent_confidence"),
        (rule({"intents": ["gossip"]}), "conditions.intents.0"),
        (rule({"channels": ["myspace"]}), "conditions.channels.0"),
        (rule({"channels": []}), "conditions.channels"),
        (rule({"keywords": ["!!!"]}), "conditions.keywords"),
        (rule({"keywords": [" "]}), "conditions.keywords.0"),
        (rule({"min_followers": -1}), "conditions.min_followers"),
        (rule({"languages": ["Spanish"]}), "conditions.languages.0"),
        (rule(actions={}), "actions"),
        (rule(actions={"require_approval": False}), "actions"),
        (rule(actions={"priority": "asap"}), "actions.priority"),
        (rule({"time_of_day": {"start": "09:00", "end": "09:00"}}), "conditions.time_of_day.end"),
        (
            rule({"time_of_day": {"start": "09:00", "end": "10:00", "time_zone": "Mars/Base"}}),
            "conditions.time_of_day.time_zone",
        ),
        (
            rule({"time_of_day": {"start": "09:00", "end": "10:00", "weekdays": [7]}}),
            "conditions.time_of_day.weekdays.0",
        ),
        (rule({"time_of_day": {"start": "9h", "end": "10:00"}}), "conditions.time_of_day.start"),
        (rule(actions={"close": True, "department": "pr"}), "actions"),
        (rule(actions={"department": "Public Relations"}), "actions.department"),
        (rule(actions={"tags": ["two words"]}), "actions.tags.0"),
        ({**rule(), "name": "  "}, "name"),
        ({**rule(), "position": -1}, "position"),
        ({"name": "no actions"}, "actions"),
    ],
)
def test_bad_rules_name_the_field(body: dict[str, Any], field: str) -> None:
    fields = [f for f, _msg in errors_of(body)]
    assert field in fields


def test_unstorable_text_is_refused_naming_the_field() -> None:
    [(_field, message)] = errors_of({**rule(), "name": "nul\x00"})
    assert message.startswith("Value error, name:")


def test_unsafe_pattern_reason_is_readable() -> None:
    [(field, message)] = errors_of(rule({"pattern": "(a+)+$"}))
    assert field == "conditions.pattern"
    assert "backtrack" in message


def test_the_documented_example_is_valid() -> None:
    [example] = RuleSpec.model_json_schema()["examples"]
    assert RuleSpec.model_validate(example).actions.require_approval


def test_models_can_be_built_directly() -> None:
    assert RuleConditions().model_dump(exclude_none=True) == {}
    assert RuleActions(close=True).close
