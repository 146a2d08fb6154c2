"""Examples-as-tests (LanguageTool style): every rule of every default pack runs its own
good and bad examples. A bad example must produce at least one violation of that rule, a good
example none."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
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
from services.guidelines.schemas import (
    CHECK_RESPONSE_EXAMPLE_REQUESTS,
    CHECK_RESPONSE_EXAMPLES,
    CheckResponse,
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


@pytest.mark.parametrize("rule", _all_rules(), ids=lambda rule: rule.id)
def test_every_rule_speaks_each_of_its_languages(rule: Rule) -> None:
    """A person reads the message (and suggestions) in the reply's language: the pack must give
    one per language the rule runs on."""
    languages = set(rule.languages or ("es", "en"))
    assert languages <= set(rule.messages), f"{rule.id}: message missing in {languages}"
    if rule.suggestions:
        assert languages <= set(rule.suggestions_by_lang), f"{rule.id}: suggestions missing"


SPANISH_WORDS = {"el", "la", "de", "que", "en", "no", "se", "un", "una", "con", "los", "las"}


def test_spanish_messages_are_spanish() -> None:
    for rule in _all_rules():
        message = rule.messages.get("es")
        if message is None:
            continue
        words = {w.strip(".,:;()'%").lower() for w in message.split()}
        english = {"the", "is", "with", "not", "in", "to", "write", "avoid", "never", "use"}
        assert not (words & english) or words & SPANISH_WORDS, (rule.id, message)


# Words that give a text away as the other language (what a quoted match says is not counted).
_FOREIGN_WORDS = {
    "es": frozenset(
        "the is with not to write avoid never use of and phone email card reads your this "
        "number address warning suggestion please should".split()
    ),
    "en": frozenset(
        "el la de que los las una con por para usa evita nunca teléfono correo tarjeta aviso "
        "sugerencia mayúsculas".split()
    ),
}
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|«[^»]*»")


def _rendered_cases() -> list[Any]:
    cases = []
    for rule in _all_rules():
        for index, example in enumerate(rule.examples.bad):
            example_lang = example.lang or (rule.languages[0] if rule.languages else "en")
            for lang in (example_lang,) if rule.languages else ("es", "en"):
                cases.append(pytest.param(rule, example, lang, id=f"{rule.id}-bad{index}-{lang}"))
    return cases


@pytest.mark.parametrize(("rule", "example", "lang"), _rendered_cases())
def test_every_rendered_message_speaks_the_reply_language(
    rule: Rule, example: RuleExample, lang: str
) -> None:
    """Placeholders filled by the engine (the kind of personal data, a level, a register) are
    in the reply's language too, not only the pack's template."""
    messages = _violations_of_rule(rule, RuleExample(**{**_example_fields(example), "lang": lang}))
    suggestions = _suggestions_of_rule(rule, example, lang)
    assert messages, f"{rule.id} did not flag {example.text!r} in {lang}"
    for text in [*messages, *suggestions]:
        words = set(re.findall(r"\w+", _QUOTED.sub(" ", text).lower()))
        assert not words & _FOREIGN_WORDS[lang], (rule.id, lang, text)


def _example_fields(example: RuleExample) -> dict[str, Any]:
    return {
        "text": example.text,
        "channel": example.channel,
        "context": example.context,
        "lang": example.lang,
    }


def _suggestions_of_rule(rule: Rule, example: RuleExample, lang: str) -> list[str]:
    config = GuidelineConfig(packs=["under_test"], **dict(rule.examples.brand))
    pack = RulePack(id="under_test", version="test", title="one rule", rules=(rule,))
    context_data = example.context if example.context is not None else rule.examples.context
    channel = example.channel or rule.examples.channel or (rule.channels or (None,))[0]
    result = compile_guideline(config, {"under_test": pack}).check(
        example.text,
        lang=lang,
        channel=channel,
        context=CheckContext(**context_data) if context_data else None,
    )
    return [s for v in result.violations if v.rule_id == rule.id for s in v.suggestions]


def _check(config: GuidelineConfig, text: str, lang: str) -> Any:
    return compile_guideline(config).check(text, lang=lang, channel="x")


@pytest.mark.parametrize(
    ("text", "lang", "rule_ids"),
    [
        (
            "Hola Marta, ¡¡TU PEDIDO LLEGA MAÑANA!! Telefonix os engañó con la tarifa. "
            "Escríbenos por DM con tu número de pedido!",
            "es",
            {"standards.caps.shouting", "legal.competitor-criticism"},
        ),
        (
            "Hi Sam, YOUR ORDER SHIPS TODAY!! Unlike Telefonix, who fail their customers.",
            "en",
            {"standards.caps.shouting", "legal.competitor-criticism"},
        ),
    ],
)
def test_messages_come_in_the_reply_language(text: str, lang: str, rule_ids: set[str]) -> None:
    config = GuidelineConfig.model_validate({"competitors": [{"name": "Telefonix"}]})
    result = _check(config, text, lang)
    by_rule = {v.rule_id: v for v in result.violations}
    assert rule_ids <= set(by_rule), by_rule
    for violation in result.violations:
        words = set(violation.message.lower().replace("'", " ").split())
        if lang == "es":
            assert not {"never", "reads", "use", "avoid", "the"} & words, violation
        else:
            assert not {"nunca", "usa", "evita", "en", "mayúsculas"} & words, violation
    for blocker in result.blockers:
        assert ("puntuación" in blocker.message or "regla" in blocker.message) == (lang == "es")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("HOLA MARTA!!! TU PEDIDO YA ESTÁ EN CAMINO, LLEGA MAÑANA!!! GRACIAS POR TODO!!!", "es"),
        ("HI SAM!!! YOUR ORDER IS ON ITS WAY AND ARRIVES TOMORROW!!! THANKS SO MUCH!!!", "en"),
    ],
)
def test_a_shouted_reply_is_not_publishable_and_says_why(text: str, lang: str) -> None:
    result = _check(GuidelineConfig(), text, lang)
    assert not any(v.rule_id == "style.acronym-defined" for v in result.violations)
    assert result.score < 60
    assert result.passed is False
    assert [b.code for b in result.blockers] == ["blocking_violation", "score_below_minimum"]
    assert result.blockers[0].rule_ids == ["standards.caps.shouted-reply"]
    assert "standards.caps.shouting" in result.blockers[1].rule_ids


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("HOLA MARTA, GRACIAS POR ESCRIBIRNOS. TU PEDIDO SALE HOY Y LLEGA EL JUEVES.", "es"),
        ("HI SAM, THANKS FOR WRITING. YOUR ORDER SHIPS TODAY AND ARRIVES ON THURSDAY.", "en"),
    ],
)
def test_a_reply_in_capitals_without_exclamations_is_not_publishable(text: str, lang: str) -> None:
    result = _check(GuidelineConfig(), text, lang)
    assert "standards.caps.shouted-reply" in {v.rule_id for v in result.violations}
    assert not any(v.rule_id == "style.acronym-defined" for v in result.violations)
    assert result.passed is False
    assert result.band == "poor"


@pytest.mark.parametrize(
    ("text", "lang", "acronym"),
    [
        ("Hola Marta, tu RMA está aprobado, envíanos el paquete por SEUR.", "es", "RMA"),
        ("Hi Sam, your RMA is approved, send the parcel with GLS.", "en", "RMA"),
    ],
)
def test_an_acronym_is_not_shouting_and_an_ordinary_word_in_capitals_is_not_an_acronym(
    text: str, lang: str, acronym: str
) -> None:
    result = _check(GuidelineConfig(), text, lang)
    assert [(v.rule_id, v.match) for v in result.violations] == [("style.acronym-defined", acronym)]
    shouted = "Hola Marta, tu pedido llega MAÑANA." if lang == "es" else "Hi Sam, please READ it."
    result = _check(GuidelineConfig(), shouted, lang)
    assert [v.rule_id for v in result.violations] == ["standards.caps.shouting"]


def test_the_brand_sets_the_publish_policy() -> None:
    text = "Hola Marta, tu pedido llega MAÑANA, te lo aseguramos."  # one warning: score 90
    lenient = _check(GuidelineConfig(), text, "es")
    assert lenient.passed is True
    assert lenient.blockers == []
    strict = GuidelineConfig.model_validate(
        {"publish_policy": {"min_score": 95, "blocking_levels": ["error", "warning"]}}
    )
    result = _check(strict, text, "es")
    assert result.passed is False
    assert {b.code for b in result.blockers} == {"score_below_minimum", "blocking_violation"}
    blocking = next(b for b in result.blockers if b.code == "blocking_violation")
    assert blocking.rule_ids == ["standards.caps.shouting"]
    assert "aviso" in blocking.message  # the level, named in the reply's language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "Hola Marta, gracias por escribirnos. Nuestra fibra es mucho más estable y fiable "
            "que la que ofrece Telefonix, que falla cada dos por tres y engaña a sus clientes.",
            "es",
        ),
        (
            "Hi Sam, thanks for getting in touch. Our fibre is far more reliable than the one "
            "Telefonix sells, and Telefonix keeps failing and deceiving its customers.",
            "en",
        ),
    ],
)
def test_comparing_with_a_declared_competitor_and_criticising_it_is_an_error(
    text: str, lang: str
) -> None:
    config = GuidelineConfig.model_validate({"competitors": [{"name": "Telefonix"}]})
    result = _check(config, text, lang)
    criticism = [v for v in result.violations if v.rule_id == "legal.competitor-criticism"]
    assert criticism, result.violations
    assert {v.level for v in criticism} == {"error"}
    assert result.passed is False
    blocking = next(b for b in result.blockers if b.code == "blocking_violation")
    assert "legal.competitor-criticism" in blocking.rule_ids


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Hola Marta, sentimos mucho el fallo con la portabilidad desde Telefonix.", "es"),
        ("Hi Sam, sorry for the bad experience moving your number from Telefonix.", "en"),
    ],
)
def test_an_apology_next_to_a_competitor_name_still_passes(text: str, lang: str) -> None:
    config = GuidelineConfig.model_validate({"competitors": [{"name": "Telefonix"}]})
    result = _check(config, text, lang)
    assert [v.rule_id for v in result.violations] == ["legal.competitor-mention"]
    assert result.passed is True


def test_checks_in_parallel_threads_agree_with_one_thread() -> None:
    """Stemmers keep state while they work: every thread has its own, so checks running side
    by side (the service runs them in worker threads) give the answers of a single thread."""
    config = GuidelineConfig.model_validate({"competitors": [{"name": "Telefonix"}]})
    guideline = compile_guideline(config)
    texts = [
        ("Hola Marta, Telefonix mintió a sus clientes con las permanencias.", "es"),
        ("Hola Marta, sentimos el fallo con la portabilidad desde Telefonix.", "es"),
        ("Hi Sam, Telefonix cheated thousands of customers last year.", "en"),
        ("Hi Sam, sorry for the bad experience moving your number from Telefonix.", "en"),
        ("HOLA MARTA, GRACIAS POR ESCRIBIRNOS, TU PEDIDO SALE HOY.", "es"),
    ] * 40

    def run(item: tuple[str, str]) -> list[tuple[str, str]]:
        result = guideline.check(item[0], lang=item[1], channel="x")
        return [(v.rule_id, v.match) for v in result.violations]

    expected = [run(item) for item in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(run, texts)) == expected


@pytest.mark.parametrize("name", sorted(CHECK_RESPONSE_EXAMPLES))
def test_the_documented_check_answers_are_what_the_engine_says(name: str) -> None:
    """The OpenAPI examples of POST /check are real answers (the violations they list are a
    selection of the real ones)."""
    text, config = CHECK_RESPONSE_EXAMPLE_REQUESTS[name]
    example = CHECK_RESPONSE_EXAMPLES[name]["value"]
    CheckResponse.model_validate(example)  # the documented shape
    result = _check(GuidelineConfig.model_validate(config), text, example["lang"])
    answer = result.model_dump(mode="json")
    for field in ("passed", "score", "goal_scores", "band", "blockers", "policy"):
        assert answer[field] == example[field], field
    for violation in example["violations"]:
        assert violation in answer["violations"]
