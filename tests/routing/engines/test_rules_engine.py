"""The rule engine: each condition, ordering and stop, merging of actions, the fallback to the
responsibilities matrix, explanations, and the default rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.routing.intents import INTENTS
from services.routing.rules import (
    DEFAULT_DEPARTMENT_SLUGS,
    DEFAULT_RESPONSIBILITIES,
    DEFAULT_RULES,
    LARGE_REACH_FOLLOWERS,
    RoutingFacts,
    RuleSpec,
    StoredRule,
    compile_rules,
    decide,
    normalise_keyword,
)
from shared.events.cases import Priority

FACTS = RoutingFacts(
    brand_id="b1",
    channel="x",
    account_id="acc-1",
    lang="es",
    intent="complaint",
    intent_confidence=0.9,
    sentiment_label="negative",
    sentiment_score=-0.6,
    text="Mi pedido llegó roto",
    author_followers=120,
    author_verified=False,
)


def stored(
    rule_id: str, conditions: dict[str, Any], actions: dict[str, Any] | None = None, **spec: Any
) -> StoredRule:
    body = {
        "name": rule_id,
        "conditions": conditions,
        "actions": actions or {"tags": [rule_id]},
        **spec,
    }
    return StoredRule(rule_id, 1, RuleSpec.model_validate(body))


def matches(conditions: dict[str, Any], facts: RoutingFacts = FACTS) -> bool:
    decision = decide(compile_rules([stored("r", conditions)]), facts, {})
    return bool(decision.matched)


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({}, True),
        ({"channels": ["x", "facebook"]}, True),
        ({"channels": ["instagram"]}, False),
        ({"account_ids": ["acc-1"]}, True),
        ({"account_ids": ["acc-2"]}, False),
        ({"languages": ["es"]}, True),
        ({"languages": ["en"]}, False),
        ({"intents": ["complaint", "crisis"]}, True),
        ({"intents": ["praise"]}, False),
        ({"min_intent_confidence": 0.9}, True),
        ({"min_intent_confidence": 0.95}, False),
        ({"sentiment_labels": ["negative"]}, True),
        ({"sentiment_labels": ["positive", "neutral"]}, False),
        ({"sentiment_score_min": -1, "sentiment_score_max": -0.5}, True),
        ({"sentiment_score_max": -0.7}, False),
        ({"sentiment_score_min": -0.5}, False),
        ({"min_followers": 120}, True),
        ({"min_followers": 121}, False),
        ({"verified": False}, True),
        ({"verified": True}, False),
        ({"pii": False}, True),
        ({"pii": True}, False),
        ({"outside_working_hours": True}, False),
        ({"vip": False, "known_author": False}, True),
        ({"vip": True}, False),
        ({"keywords": ["roto"]}, True),
        ({"keywords": ["rot"]}, False),  # whole words only
        ({"keywords": ["ROTO", "dañado"]}, True),
        ({"keywords": ["llego roto"]}, True),  # phrase, accent-insensitive
        ({"keywords": ["pedido roto"]}, False),  # the words must be adjacent
        ({"pattern": r"pedido\s+lleg[oó]"}, True),
        ({"pattern": r"^MI PEDIDO"}, True),  # case-insensitive
        ({"pattern": r"\d+"}, False),
        ({"channels": ["x"], "intents": ["praise"]}, False),  # ANDed
    ],
)
def test_each_condition(conditions: dict[str, Any], expected: bool) -> None:
    assert matches(conditions) is expected


def test_missing_facts_do_not_match_conditions_on_them() -> None:
    bare = RoutingFacts(brand_id="b1", channel="x")
    for conditions in (
        {"account_ids": ["acc-1"]},
        {"languages": ["es"]},
        {"intents": ["complaint"]},
        {"min_intent_confidence": 0.0},
        {"sentiment_labels": ["negative"]},
        {"sentiment_score_min": -1},
        {"min_followers": 0},
        {"verified": True},
        {"keywords": ["hola"]},
    ):
        assert not matches(conditions, bare), conditions
    assert matches({"verified": False}, bare)


@pytest.mark.parametrize(
    ("text", "keyword", "expected"),
    [
        ("¡¡QUIERO UN REEMBOLSO YA!!", "reembolso", True),
        ("Quiero mi dinero de vuelta", "DINERO", True),
        ("la atención fue pésima", "pesima", True),
        ("la atencion fue pesima", "pésima", True),
        ("#boicot a esta marca", "boicot", True),
        ("el año pasado", "ano", False),  # ñ is a letter of its own
        ("el ano pasado", "año", False),
        ("refunded already", "refund", False),
        ("REFUND please", "refund", True),
        ("my e-mail bounced", "e-mail", True),
        ("data   breach at the store", "data breach", True),
        ("Café con leche", "cafe", True),
    ],
)
def test_keywords_are_whole_words_without_case_or_accents(
    text: str, keyword: str, expected: bool
) -> None:
    assert matches({"keywords": [keyword]}, replace(FACTS, text=text)) is expected


def test_normalise_keyword() -> None:
    assert normalise_keyword("  Filtración   de DATOS ") == "filtracion de datos"


def test_rules_run_by_position_and_stop_ends_evaluation() -> None:
    rules = [
        stored("late", {}, {"department": "sales"}, position=20),
        stored("early", {}, {"department": "pr", "tags": ["first"]}, position=10, stop=True),
        stored("off", {}, {"department": "hr"}, position=0, enabled=False),
    ]
    decision = decide(compile_rules(rules), FACTS, DEFAULT_RESPONSIBILITIES)
    assert [m.id for m in decision.matched] == ["early"]
    assert decision.department == "pr"
    assert decision.department_source == "rule"
    codes = [(line.rule_id, line.code) for line in decision.explanation]
    assert codes[:3] == [("off", "disabled"), ("early", "matched"), ("late", "skipped_after_stop")]


def test_equal_positions_order_by_id() -> None:
    rules = [
        stored("b", {}, {"department": "sales"}, position=1),
        stored("a", {}, {"department": "pr"}, position=1),
    ]
    assert decide(compile_rules(rules), FACTS, {}).department == "pr"
    assert compile_rules(rules).fingerprint == (("a", 1), ("b", 1))


def test_actions_merge() -> None:
    rules = [
        stored(
            "one",
            {},
            {"department": "pr", "priority": "low", "tags": ["a", "b"], "sla_policy_id": "p1"},
            position=1,
        ),
        stored(
            "two",
            {},
            {
                "department": "sales",
                "priority": "urgent",
                "tags": ["b", "c"],
                "skills_required": ["x"],
            },
            position=2,
        ),
        stored(
            "three",
            {},
            {"priority": "high", "require_approval": True, "notify": True, "sla_policy_id": "p2"},
            position=3,
        ),
        stored("miss", {"intents": ["praise"]}, {"close": True}, position=4),
    ]
    decision = decide(compile_rules(rules), FACTS, DEFAULT_RESPONSIBILITIES)
    assert [m.id for m in decision.matched] == ["one", "two", "three"]
    assert decision.department == "pr"  # the first that sets one
    assert decision.priority is Priority.urgent  # the most urgent
    assert decision.tags == ("a", "b", "c")
    assert decision.skills_required == ("x",)
    assert decision.sla_policy_id == "p1"
    assert decision.require_approval
    assert decision.notify
    assert not decision.close


def test_department_falls_back_to_the_responsibilities_matrix() -> None:
    empty = compile_rules([])
    decision = decide(empty, FACTS, DEFAULT_RESPONSIBILITIES)
    assert decision.department == "customer_service"
    assert decision.department_source == "responsibilities"
    assert decision.priority is Priority.normal
    assert not decision.close
    spam = decide(empty, replace(FACTS, intent="spam"), DEFAULT_RESPONSIBILITIES)
    assert spam.department is None
    assert spam.close
    assert spam.department_source == "none"
    unknown = decide(empty, replace(FACTS, intent=None), DEFAULT_RESPONSIBILITIES)
    assert unknown.department == "marketing"  # the `other` row
    nowhere = decide(empty, replace(FACTS, intent=None), {"complaint": "customer_service"})
    assert nowhere.department is None
    assert not nowhere.close
    # A brand that moved complaints elsewhere.
    edited = decide(empty, FACTS, {**DEFAULT_RESPONSIBILITIES, "complaint": "legal"})
    assert edited.department == "legal"


def test_a_closing_rule_without_department_leaves_none() -> None:
    decision = decide(
        compile_rules([stored("c", {}, {"close": True})]), FACTS, DEFAULT_RESPONSIBILITIES
    )
    assert decision.close
    assert decision.department is None


def test_explanations_in_both_languages() -> None:
    rules = [
        stored("kw", {"keywords": ["roto"], "channels": ["x"]}, {"department": "pr"}),
        stored("no", {"channels": ["x"], "min_followers": 1000}, {"tags": ["big"]}),
    ]
    decision = decide(compile_rules(rules), FACTS, {})
    by_rule = {line.rule_id: line for line in decision.explanation}
    assert "the text contains roto" in by_rule["kw"].en
    assert "channel x is one of x" in by_rule["kw"].en
    assert "el texto contiene roto" in by_rule["kw"].es
    assert by_rule["no"].code == "no_match:min_followers"
    assert "120 < 1000" in by_rule["no"].en
    assert "seguidores" in by_rule["no"].es
    assert by_rule[None].code == "department"
    body = decision.as_dict(lang="es")
    assert body["matched"] == [{"id": "kw", "version": 1, "name": "kw"}]
    assert all("text" in line for line in body["explanation"])
    assert decide(compile_rules(rules), FACTS, {}, explain=False).explanation == ()


def test_a_pattern_that_times_out_does_not_match(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared import patterns

    ruleset = compile_rules([stored("slow", {"pattern": "(?:a|b)*c"})])
    monkeypatch.setattr(patterns, "MATCH_TIMEOUT_SECONDS", 1e-9)
    decision = decide(ruleset, replace(FACTS, text="ab" * 20000), {})
    assert not decision.matched
    assert "took too long" in decision.explanation[0].en


# -- the defaults ------------------------------------------------------------------------------

DEFAULTS = compile_rules([StoredRule(f"d{i}", 1, spec) for i, spec in enumerate(DEFAULT_RULES)])


def test_default_matrix_covers_every_intent_and_names_default_departments() -> None:
    assert set(DEFAULT_RESPONSIBILITIES) == {str(intent) for intent in INTENTS}
    assert {d for d in DEFAULT_RESPONSIBILITIES.values() if d} <= set(DEFAULT_DEPARTMENT_SLUGS)
    assert DEFAULT_RESPONSIBILITIES["spam"] is None
    for spec in DEFAULT_RULES:
        assert spec.actions.department in (None, *DEFAULT_DEPARTMENT_SLUGS)


@pytest.mark.parametrize(
    ("changes", "department", "priority", "approval", "close"),
    [
        ({}, "customer_service", Priority.normal, False, False),
        ({"author_followers": LARGE_REACH_FOLLOWERS}, "pr", Priority.high, True, False),
        (
            {"author_followers": LARGE_REACH_FOLLOWERS, "sentiment_label": "positive"},
            "customer_service",
            Priority.normal,
            False,
            False,
        ),
        (
            {"intent": "job_inquiry", "text": "¿Tienen vacantes?"},
            "hr",
            Priority.normal,
            False,
            False,
        ),
        (
            {"intent": "employee_matter", "text": "No me pagaron"},
            "hr",
            Priority.normal,
            False,
            False,
        ),
        ({"intent": "purchase_intent", "text": "¿Precio?"}, "sales", Priority.high, False, False),
        ({"text": "Convocamos un BOICOT a la marca"}, "pr", Priority.urgent, True, False),
        (
            {"text": "food poisoning after eating there", "lang": "en"},
            "pr",
            Priority.urgent,
            True,
            False,
        ),
        ({"intent": "crisis"}, "pr", Priority.urgent, True, False),
        (
            {"intent": "spam", "intent_confidence": 0.95, "text": "gana dinero boicot"},
            None,
            Priority.low,
            False,
            True,
        ),
        ({"intent": "spam", "intent_confidence": 0.5}, None, Priority.normal, False, True),
    ],
)
def test_default_rules(
    changes: dict[str, Any], department: str | None, priority: Priority, approval: bool, close: bool
) -> None:
    decision = decide(DEFAULTS, replace(FACTS, **changes), DEFAULT_RESPONSIBILITIES)
    assert (decision.department, decision.priority, decision.require_approval, decision.close) == (
        department,
        priority,
        approval,
        close,
    )


words = st.text(alphabet="abcñáéíóú ABCÑÁ", max_size=30)


@settings(max_examples=100, deadline=None)
@given(words, words)
def test_keyword_found_in_any_casing_and_accenting(before: str, after: str) -> None:
    keyword = "pésima atención"
    for variant in ("pésima atención", "PESIMA ATENCION", "Pésima  Atencion"):
        text = f"{before} {variant} {after}"
        assert matches({"keywords": [keyword]}, replace(FACTS, text=text))


# -- the fast path (explain=False) decides exactly as the explaining one ----------------------

condition_sets = st.fixed_dictionaries(
    {},
    optional={
        "channels": st.lists(
            st.sampled_from(["x", "instagram", "facebook"]), min_size=1, max_size=3
        ),
        "languages": st.lists(st.sampled_from(["es", "en"]), min_size=1, max_size=3),
        "intents": st.lists(
            st.sampled_from(["complaint", "praise", "spam"]), min_size=1, max_size=3
        ),
        "account_ids": st.lists(st.sampled_from(["acc-1", "acc-2"]), min_size=1, max_size=3),
        "min_followers": st.integers(0, 500),
        "keywords": st.lists(
            st.sampled_from(["roto", "gracias", "precio"]), min_size=1, max_size=3
        ),
        "vip": st.booleans(),
    },
)
action_sets = st.fixed_dictionaries(
    {"tags": st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3)},
    optional={
        "department": st.sampled_from(["pr", "sales", "hr"]),
        "priority": st.sampled_from(["urgent", "high", "low"]),
    },
) | st.fixed_dictionaries({"close": st.just(True)}, optional={"priority": st.just("low")})
rule_lists = st.lists(
    st.tuples(condition_sets, action_sets, st.integers(0, 5), st.booleans(), st.booleans()),
    max_size=12,
)
fact_sets = st.builds(
    RoutingFacts,
    brand_id=st.just("b1"),
    channel=st.sampled_from(["x", "instagram", "facebook"]),
    account_id=st.sampled_from([None, "acc-1", "acc-2"]),
    lang=st.sampled_from([None, "es", "en"]),
    intent=st.sampled_from([None, "complaint", "praise", "spam"]),
    text=st.sampled_from(["Mi pedido llegó roto", "Gracias!", "¿Precio?", ""]),
    author_followers=st.sampled_from([None, 10, 1000]),
    vip=st.booleans(),
)


@settings(max_examples=100, deadline=None)
@given(rule_lists, st.lists(fact_sets, min_size=1, max_size=5))
def test_fast_path_decides_like_the_explaining_path(
    rules: list[tuple[dict[str, Any], dict[str, Any], int, bool, bool]],
    facts_list: list[RoutingFacts],
) -> None:
    stored_rules = [
        stored(f"r{i}", conditions, actions, position=position, stop=stop, enabled=enabled)
        for i, (conditions, actions, position, stop, enabled) in enumerate(rules)
    ]
    ruleset = compile_rules(stored_rules)
    for facts in facts_list * 2:  # the second round hits the per-combination cache
        fast = decide(ruleset, facts, DEFAULT_RESPONSIBILITIES, explain=False)
        full = decide(ruleset, facts, DEFAULT_RESPONSIBILITIES, explain=True)
        assert replace(full, explanation=()) == fast
        assert len({line.rule_id for line in full.explanation if line.rule_id}) == len(rules)


@pytest.mark.parametrize(
    ("window", "now", "expected"),
    [
        # 21:30 UTC on Tuesday 2026-12-01 is 22:30 in Madrid.
        ({"start": "22:00", "end": "06:00", "time_zone": "Europe/Madrid"}, (12, 1, 21, 30), True),
        ({"start": "22:00", "end": "06:00", "time_zone": "Europe/Madrid"}, (12, 2, 4, 59), True),
        ({"start": "22:00", "end": "06:00", "time_zone": "Europe/Madrid"}, (12, 2, 5, 0), False),
        ({"start": "09:00", "end": "17:00"}, (12, 1, 9, 0), True),
        ({"start": "09:00", "end": "17:00"}, (12, 1, 17, 0), False),
        ({"start": "09:00", "end": "17:00", "weekdays": [5, 6]}, (12, 1, 10, 0), False),
        ({"start": "09:00", "end": "17:00", "weekdays": [1]}, (12, 1, 10, 0), True),
        # Summer time: 08:30 UTC on 2026-07-01 is 10:30 in Madrid.
        ({"start": "10:00", "end": "11:00", "time_zone": "Europe/Madrid"}, (7, 1, 8, 30), True),
    ],
)
def test_time_of_day(
    window: dict[str, Any], now: tuple[int, int, int, int], expected: bool
) -> None:
    month, day, hour, minute = now
    at = datetime(2026, month, day, hour, minute, tzinfo=UTC)
    assert matches({"time_of_day": window}, replace(FACTS, now=at)) is expected
    assert not matches({"time_of_day": window}, FACTS)  # no time: no match


def test_time_of_day_explains_the_local_time() -> None:
    rule = stored(
        "night", {"time_of_day": {"start": "22:00", "end": "06:00", "time_zone": "Europe/Madrid"}}
    )
    at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    [line, _department] = decide(compile_rules([rule]), replace(FACTS, now=at), {}).explanation
    assert "Tue 13:00 is outside 22:00-06:00 Europe/Madrid" in line.en
    assert "está fuera de" in line.es
