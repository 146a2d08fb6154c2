"""Loading packs and guidelines: errors that name the rule and line, unsafe regexes, size
limit, overrides, terminology, YAML round trip and Vale style import."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.guidelines.engine import (
    MAX_TEXT_BYTES,
    Competitor,
    GuidelineConfig,
    RuleLoadError,
    RuleOverride,
    TermEntry,
    TextTooLongError,
    compile_guideline,
    export_guideline_yaml,
    import_vale_style,
    load_default_packs,
    load_guideline_yaml,
    load_pack,
)

VALID_RULE = """  - id: ok.rule
    kind: existence
    message: "'%s'"
    tokens: [foo]
"""


def load_error(rules_yaml: str) -> RuleLoadError:
    with pytest.raises(RuleLoadError) as caught:
        load_pack(f"id: broken\nrules:\n{VALID_RULE}{rules_yaml}", source="broken.yaml")
    return caught.value


def test_error_names_rule_line_and_reason_for_unknown_kind() -> None:
    error = load_error("  - id: bad.kind\n    kind: existance\n    message: x\n")
    assert error.rule_id == "bad.kind"
    assert error.line == 8  # the 'kind:' line
    assert "unknown kind 'existance'" in error.reason
    assert str(error).startswith("broken.yaml:8: rule 'bad.kind'")


def test_error_points_at_the_offending_field() -> None:
    error = load_error(
        "  - id: bad.level\n    kind: existence\n    message: x\n    tokens: [a]\n"
        "    level: fatal\n"
    )
    assert (error.rule_id, error.line) == ("bad.level", 11)
    missing = load_error("  - id: no.tokens\n    kind: existence\n    message: x\n")
    assert missing.rule_id == "no.tokens"
    assert "needs 'tokens' or 'raw'" in missing.reason


def test_unknown_kind_specific_field_is_refused() -> None:
    error = load_error("  - id: typo\n    kind: existence\n    message: x\n    tokenz: [a]\n")
    assert "tokenz" in error.reason
    assert error.line == 10


def test_invalid_yaml_reports_the_line() -> None:
    with pytest.raises(RuleLoadError) as caught:
        load_pack("id: x\nrules:\n  - id: a\n    tokens: [unclosed\n", source="bad.yaml")
    assert caught.value.line is not None
    assert "invalid YAML" in caught.value.reason


def test_duplicate_rule_ids_are_refused() -> None:
    error = load_error(VALID_RULE)
    assert error.rule_id == "ok.rule"
    assert "duplicate" in error.reason


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a|a)*b", "(\\w|\\d)+x", "(.*a)+"])
def test_catastrophic_regex_is_refused_at_load(pattern: str) -> None:
    error = load_error(
        f"  - id: redos\n    kind: existence\n    message: x\n    raw: ['{pattern}']\n"
    )
    assert error.rule_id == "redos"
    assert "backtrack catastrophically" in error.reason
    assert error.line == 10  # the 'raw:' line


def test_matches_are_bounded_by_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared import patterns

    pack = load_pack(
        "id: t\nrules:\n  - id: slow\n    kind: existence\n    message: x\n"
        "    raw: ['(?:a|b)*c']\n",
        source="t.yaml",
    )
    guideline = compile_guideline(GuidelineConfig(packs=["t"]), {"t": pack})
    monkeypatch.setattr(patterns, "MATCH_TIMEOUT_SECONDS", 1e-9)
    result = guideline.check("ab" * 20000, lang="en")
    assert result.skipped_rules == ["slow"]
    assert result.violations == []


def test_texts_over_64_kib_are_refused() -> None:
    guideline = compile_guideline(GuidelineConfig(packs=["standards"]))
    guideline.check("a" * MAX_TEXT_BYTES, lang="en")  # exactly at the limit: fine
    with pytest.raises(TextTooLongError) as caught:
        guideline.check("ñ" * (MAX_TEXT_BYTES // 2 + 1), lang="es")  # 2 bytes each
    assert caught.value.size == MAX_TEXT_BYTES + 2


def test_overrides_disable_rules_and_change_level_and_params() -> None:
    text = "Hola Marta!! Te mandamos el link. #a #b"
    base = compile_guideline(GuidelineConfig(packs=["standards"]))
    ids = {v.rule_id for v in base.check(text, lang="es").violations}
    assert {"standards.punctuation.multiple-exclamation", "standards.es.link"} <= ids
    config = GuidelineConfig(
        packs=["standards"],
        overrides={
            "standards.punctuation.multiple-exclamation": RuleOverride(enabled=False),
            "standards.es.link": RuleOverride(level="error"),
            "standards.hashtags.max": RuleOverride(params={"max": 1}),
        },
    )
    result = compile_guideline(config).check(text, lang="es")
    by_rule = {v.rule_id: v for v in result.violations}
    assert "standards.punctuation.multiple-exclamation" not in by_rule
    assert by_rule["standards.es.link"].level == "error"
    assert by_rule["standards.hashtags.max"].match == "#b"
    assert not result.passed


def test_override_of_unknown_rule_or_pack_is_an_error() -> None:
    with pytest.raises(RuleLoadError, match="override of an unknown rule"):
        compile_guideline(GuidelineConfig(overrides={"nope": RuleOverride(enabled=False)}))
    with pytest.raises(RuleLoadError, match="unknown pack"):
        compile_guideline(GuidelineConfig(packs=["nope"]))


def test_brand_terminology_deprecated_terms_suggest_the_preferred_one() -> None:
    config = GuidelineConfig(
        packs=[],
        terminology=[
            TermEntry(term="tarifa plana", status="deprecated", preferred="Plan Único", lang="es"),
            TermEntry(term="bundle", status="deprecated", preferred="pack"),
            TermEntry(term="pack", status="preferred"),
        ],
    )
    guideline = compile_guideline(config)
    result = guideline.check("Hola Marta, la tarifa plana incluye el bundle.", lang="es")
    assert [(v.match, v.suggestions) for v in result.violations] == [
        ("tarifa plana", ["Plan Único"]),
        ("bundle", ["pack"]),
    ]
    assert guideline.check("Hi Sam, the pack is ready.", lang="en").violations == []


def test_custom_rules_are_loaded_with_the_guideline() -> None:
    custom = "id: custom\nrules:\n  - id: brand.no-cheap\n    kind: existence\n    message: x\n"
    custom += "    tokens: [barato]\n    level: error\n"
    guideline = compile_guideline(GuidelineConfig(packs=[], custom_rules=custom))
    assert not guideline.check("Es muy barato.", lang="es").passed


def test_guideline_yaml_round_trip() -> None:
    config = GuidelineConfig(
        packs=["standards", "legal"],
        overrides={"standards.es.link": RuleOverride(level="error", params={"x": 1})},
        terminology=[TermEntry(term="bundle", preferred="pack")],
        competitors=[Competitor(name="Telefonix", aliases=["Tfx"])],
        formality="usted",
        channel_limits={"whatsapp": 1000},
        allowed_domains=["example.com"],
    )
    text = export_guideline_yaml(config)
    assert "formality: usted" in text
    assert load_guideline_yaml(text) == config


def test_invalid_guideline_yaml_is_a_load_error() -> None:
    with pytest.raises(RuleLoadError, match="formality"):
        load_guideline_yaml("formality: vos\n")


def test_default_packs_compile_and_check_clean_replies() -> None:
    packs = load_default_packs()
    assert set(packs) == {"standards", "tone_style", "legal", "hr"}
    guideline = compile_guideline(GuidelineConfig(formality="tu"))
    es = (
        "Hola Marta, sentimos mucho el retraso de tu pedido. Escríbenos por DM con el número "
        "y lo revisamos hoy mismo."
    )
    en = "Hi Sam, sorry about the delay — DM us your order number and we'll look into it today."
    for text, lang in ((es, "es"), (en, "en")):
        result = guideline.check(text, lang=lang, channel="x")
        assert result.violations == [], result.violations
        assert result.score == 100.0
        assert result.band == "good"


def test_scores_deduct_per_goal_by_level() -> None:
    guideline = compile_guideline(GuidelineConfig())
    result = guideline.check("Hola Marta, te devolvemos el dinero. Mándanos el link.", lang="es")
    assert not result.passed
    assert result.goal_scores["legal"] == 75.0  # one error
    assert result.goal_scores["standards"] == 97.0  # one suggestion
    assert result.score == 72.0
    assert result.band == "review"
    assert result.model_dump(mode="json")["violations"][0]["span"] == {"start": 12, "end": 35}


VALE_RULES = {
    "Hedging.yml": """extends: existence
message: "Consider removing '%s'."
level: warning
ignorecase: true
tokens:
  - I think
  - maybe
""",
    "Terms.yml": """extends: substitution
message: "Use '%s' instead of '%s'."
level: error
swap:
  e-mail: email
  log into: log in to
""",
    "Exclamation.yml": """extends: occurrence
message: "More than %s exclamation marks."
scope: sentence
max: 1
token: '!'
""",
    "Repeated.yml": """extends: repetition
message: "'%s' is repeated!"
alpha: true
tokens:
  - '[^\\s]+'
""",
    "Acronyms.yml": """extends: conditional
message: "'%s' has no definition."
level: suggestion
ignorecase: false
first: '\\b([A-Z]{3,5})\\b'
second: '(?:\\b[A-Z][a-z]+ )+\\(([A-Z]{3,5})\\)'
exceptions:
  - DM
""",
    "Readability.yml": """extends: metric
message: "Try to keep the average sentence length under 10 (%s)."
formula: words / sentences
condition: "> 10"
""",
    "Spelling.yml": """extends: spelling
message: "Did you really mean '%s'?"
""",
}


def test_import_vale_style_folder(tmp_path: Path) -> None:
    style = tmp_path / "Brand"
    style.mkdir()
    for name, body in VALE_RULES.items():
        (style / name).write_text(body, encoding="utf-8")
    pack = import_vale_style(style)
    assert pack.id == "Brand"
    assert sorted(rule.id for rule in pack.rules) == [
        "Brand.Acronyms",
        "Brand.Exclamation",
        "Brand.Hedging",
        "Brand.Readability",
        "Brand.Repeated",
        "Brand.Terms",
    ]
    assert pack.skipped == ("Brand.Spelling: unsupported Vale kind 'spelling'",)
    assert pack.rule("Brand.Exclamation").level == "suggestion"  # Vale's default level
    guideline = compile_guideline(GuidelineConfig(packs=["Brand"]), {"Brand": pack})
    text = "I think we sent an e-mail about the RMA!! Please log into the the app."
    result = guideline.check(text, lang="en")
    assert sorted((v.rule_id, v.match) for v in result.violations) == [
        ("Brand.Acronyms", "RMA"),
        ("Brand.Exclamation", "!"),
        ("Brand.Hedging", "I think"),
        ("Brand.Repeated", "the the"),
        ("Brand.Terms", "e-mail"),
        ("Brand.Terms", "log into"),
    ]
    assert not result.passed  # Terms is level error


def test_vale_rule_errors_name_the_file(tmp_path: Path) -> None:
    style = tmp_path / "Broken"
    style.mkdir()
    (style / "Bad.yml").write_text("extends: existence\nmessage: x\nraw: ['(a+)+']\n")
    with pytest.raises(RuleLoadError) as caught:
        import_vale_style(style)
    assert caught.value.rule_id == "Broken.Bad"
    assert caught.value.source.endswith("Bad.yml")
    assert caught.value.line == 3


@pytest.mark.parametrize("share", ["0", "1.5", "'most'", "true"])
def test_a_shouted_reply_share_must_be_a_fraction(share: str) -> None:
    error = load_error(
        f"  - id: bad.share\n    kind: shouting\n    message: x\n    min_share: {share}\n"
    )
    assert error.rule_id == "bad.share"
    assert "min_share" in error.reason
