"""Unit tests per rule kind, in Spanish and English, with real-looking replies."""

from __future__ import annotations

from typing import Any

import pytest

from services.guidelines.engine import (
    CheckContext,
    CheckResult,
    Competitor,
    GuidelineConfig,
    compile_guideline,
    load_pack,
)


def check_rules(
    rules_yaml: str,
    text: str,
    *,
    lang: str,
    channel: str | None = None,
    context: CheckContext | None = None,
    **brand: Any,
) -> CheckResult:
    """Compile a one-pack guideline from the YAML of its rules and check ``text``."""
    pack = load_pack(f"id: under_test\nrules:\n{rules_yaml}", source="test.yaml")
    config = GuidelineConfig(packs=["under_test"], **brand)
    guideline = compile_guideline(config, {"under_test": pack})
    return guideline.check(text, lang=lang, channel=channel, context=context)


def matches(result: CheckResult, rule_id: str | None = None) -> list[str]:
    """The matched texts of the result's violations (of one rule when given)."""
    return [v.match for v in result.violations if rule_id is None or v.rule_id == rule_id]


EXISTENCE = """
  - id: t.refund
    kind: existence
    level: error
    goal: legal
    message: "Refund promise: '%s'"
    tokens: ['(te|le) devolvemos el dinero', "we('ll| will) refund you", 'garantizado']
"""


def test_existence_literal_phrases_with_spans_in_both_languages() -> None:
    text = "Hola Marta, te devolvemos el dinero hoy."
    result = check_rules(EXISTENCE, text, lang="es")
    assert not result.passed
    (violation,) = result.violations
    assert violation.match == "te devolvemos el dinero"
    assert text[violation.span.start : violation.span.end] == violation.match
    assert violation.message == "Refund promise: 'te devolvemos el dinero'"
    assert matches(check_rules(EXISTENCE, "Hi Sam, we'll refund you today.", lang="en")) == [
        "we'll refund you"
    ]
    assert check_rules(EXISTENCE, "Hi Sam, we will review it today.", lang="en").passed


def test_existence_is_whole_word_and_respects_phrase_boundaries() -> None:
    rules = """
  - id: t.ass
    kind: existence
    message: "'%s'"
    tokens: [ass, 'thank you']
"""
    assert matches(check_rules(rules, "Your class assignment passed.", lang="en")) == []
    # A phrase does not run across sentence punctuation.
    assert matches(check_rules(rules, "We thank. You rock.", lang="en")) == []
    assert matches(check_rules(rules, "We thank you!", lang="en")) == ["thank you"]


def test_existence_regex_tokens_and_case_sensitivity() -> None:
    rules = r"""
  - id: t.euro
    kind: existence
    nonword: true
    message: "'%s'"
    tokens: ['€ ?\d+']
  - id: t.brand
    kind: existence
    ignorecase: false
    message: "'%s'"
    tokens: [Acme]
"""
    result = check_rules(rules, "Cuesta €20 en Acme y acme.", lang="es")
    assert matches(result, "t.euro") == ["€20"]
    assert matches(result, "t.brand") == ["Acme"]


SUBSTITUTION = """
  - id: t.terms
    kind: substitution
    message: "Use '%s' instead of '%s'."
    swap: {'e-?mails?': correo electrónico, link: enlace}
"""


def test_substitution_suggests_the_preferred_term() -> None:
    result = check_rules(SUBSTITUTION, "Te mandamos un e-mail con el link.", lang="es")
    assert [(v.match, v.suggestions) for v in result.violations] == [
        ("e-mail", ["correo electrónico"]),
        ("link", ["enlace"]),
    ]
    assert result.violations[0].message == "Use 'correo electrónico' instead of 'e-mail'."
    assert result.passed  # warnings only


def test_substitution_ignores_the_preferred_form_itself() -> None:
    rules = """
  - id: t.whatsapp
    kind: substitution
    ignorecase: false
    message: "Use '%s' instead of '%s'."
    swap: {Whatsapp: WhatsApp, whatsapp: WhatsApp}
"""
    assert matches(check_rules(rules, "Escríbenos por WhatsApp o whatsapp.", lang="es")) == [
        "whatsapp"
    ]


def test_occurrence_max_per_scope() -> None:
    rules = """
  - id: t.bang
    kind: occurrence
    token: '!'
    max: 1
    scope: sentence
    message: "More than %s"
"""
    assert matches(check_rules(rules, "¡Hola! Gracias.", lang="es")) == []
    assert len(check_rules(rules, "Thanks!! See you.", lang="en").violations) == 1


def test_repetition_and_consistency() -> None:
    rules = """
  - id: t.rep
    kind: repetition
    message: "'%s' repeated"
  - id: t.cons
    kind: consistency
    message: "Keep '%s'"
    either: {email: e-mail}
"""
    result = check_rules(rules, "We sent the the email; check the e-mail.", lang="en")
    assert matches(result, "t.rep") == ["the the"]
    assert matches(result, "t.cons") == ["e-mail"]
    assert matches(check_rules(rules, "Hola, el el pedido.", lang="es"), "t.rep") == ["el el"]


def test_conditional_acronym_must_be_defined() -> None:
    rules = r"""
  - id: t.acronym
    kind: conditional
    message: "Define '%s'"
    first: '\b([A-Z]{3,5})\b'
    second: '(?:\b[A-Z][a-z]+ )+\(([A-Z]{3,5})\)'
"""
    assert matches(check_rules(rules, "Your RMA is ready.", lang="en")) == ["RMA"]
    defined = "Your Return Merchandise Authorization (RMA) is ready. Keep the RMA."
    assert check_rules(rules, defined, lang="en").violations == []


def test_capitalization_sentence_start() -> None:
    rules = """
  - id: t.cap
    kind: capitalization
    match: $sentence
    scope: sentence
    message: "Capital: '%s'"
"""
    assert matches(check_rules(rules, "hola Marta. ¿qué tal?", lang="es")) == ["hola", "qué"]
    assert matches(check_rules(rules, "Hi Sam. @sam thanks!", lang="en")) == []


READABILITY = """
  - id: t.szigriszt
    kind: metric
    formula: szigriszt_pazos
    condition: "< 50"
    min_words: 20
    message: "Szigriszt-Pazos %s"
  - id: t.flesch
    kind: metric
    formula: flesch_reading_ease
    condition: "< 40"
    min_words: 30
    message: "Flesch %s"
"""
HARD_ES = (
    "Consecuentemente, la implementación institucionalizada de procedimientos administrativos "
    "extraordinariamente complejos imposibilita temporalmente la materialización inmediata de "
    "devoluciones económicas correspondientes a adquisiciones efectuadas mediante plataformas "
    "electrónicas internacionales, considerando adicionalmente circunstancias excepcionales."
)


def test_readability_flags_hard_spanish_and_skips_short_texts() -> None:
    result = check_rules(READABILITY, HARD_ES, lang="es")
    assert [v.rule_id for v in result.violations] == ["t.szigriszt"]
    assert "Szigriszt-Pazos -" in result.violations[0].message  # a negative score
    # Too short for a readability formula to mean anything: skipped.
    short = "Consecuentemente imposibilitamos devoluciones extraordinarias."
    assert check_rules(READABILITY, short, lang="es").violations == []
    easy = "Hi Sam, sorry about the delay. DM us your order number and we'll look into it. " * 3
    assert check_rules(READABILITY, easy, lang="en").violations == []


def test_metric_sentence_length_and_custom_formula() -> None:
    rules = """
  - id: t.long
    kind: metric
    formula: words
    condition: "> 5"
    scope: sentence
    message: "%s words"
  - id: t.avg
    kind: metric
    formula: (1.0 * words / sentences)
    condition: "> 4"
    message: "avg %s"
"""
    result = check_rules(rules, "Hi Sam. Your order ships tomorrow before two pm.", lang="en")
    assert [v.message for v in result.violations] == ["avg 4.5", "7 words"]


def test_formality_mixing_is_detected() -> None:
    rules = """
  - id: t.mixed
    kind: formality
    mode: consistency
    message: "'%s' is {found}, the reply is {register}"
"""
    text = "Hola Marta, sentimos el retraso. Escríbanos por DM y te lo solucionamos hoy mismo."
    result = check_rules(rules, text, lang="es")
    # One usted marker, one tú marker: the register used first sets the norm.
    assert [(v.match, v.message) for v in result.violations] == [
        ("te", "'te' is tú, the reply is usted")
    ]
    mostly_tu = "Hola Marta, escríbanos por DM y te lo solucionamos. ¿Puedes pasarnos tu pedido?"
    assert matches(check_rules(rules, mostly_tu, lang="es")) == ["escríbanos"]
    consistent = "Hola Marta, escríbenos por DM y te lo solucionamos. ¿Puedes pasarnos tu pedido?"
    assert check_rules(rules, consistent, lang="es").violations == []


@pytest.mark.parametrize(
    ("formality", "text", "flagged"),
    [
        (
            "tu",
            "Buenos días, disculpe las molestias. Escríbanos por DM.",
            ["disculpe", "Escríbanos"],
        ),
        ("tu", "Hola Marta, escríbenos por DM y te ayudamos.", []),
        ("usted", "Hola Marta, escríbenos por DM y te ayudamos.", ["escríbenos", "te"]),
        ("usted", "Buenos días, ¿puede usted indicarnos el pedido? Contáctenos.", []),
        (
            "tu",
            "Hola a todos, os esperamos. Escribidnos si podéis.",
            ["os", "Escribidnos", "podéis"],
        ),
    ],
)
def test_formality_brand_choice_is_enforced(formality: str, text: str, flagged: list[str]) -> None:
    rules = """
  - id: t.register
    kind: formality
    mode: register
    message: "'%s'"
"""
    assert matches(check_rules(rules, text, lang="es", formality=formality)) == flagged


def test_formality_rule_is_inactive_without_a_brand_choice() -> None:
    rules = """
  - id: t.register
    kind: formality
    message: "'%s'"
"""
    assert check_rules(rules, "Escríbanos, te ayudamos.", lang="es").violations == []


POLITENESS = """
  - id: t.apology
    kind: empathy
    require: empathy
    when: complaint
    message: "Acknowledge the complaint"
  - id: t.admit
    kind: empathy
    require: apology
    when: admits_error
    message: "Apologise"
  - id: t.greeting
    kind: politeness
    require: greeting
    within: 40
    message: "Greet"
"""


def test_empathy_required_for_complaints_from_context() -> None:
    complaint = CheckContext(
        inbound_text="Una semana esperando. Vaya servicio.",
        inbound_sentiment="negative",
        intent="complaint",
    )
    cold = "Hola Marta, tu pedido sale mañana."
    assert matches(check_rules(POLITENESS, cold, lang="es", context=complaint)) == [cold]
    warm = "Hola Marta, sentimos mucho el retraso. Tu pedido sale mañana."
    assert check_rules(POLITENESS, warm, lang="es", context=complaint).violations == []
    assert check_rules(POLITENESS, cold, lang="es").violations == []  # no complaint


def test_apology_required_when_the_reply_admits_an_error() -> None:
    admits = "Hi Sam, that was our mistake. The right size ships today."
    assert [v.rule_id for v in check_rules(POLITENESS, admits, lang="en").violations] == ["t.admit"]
    sorry = "Hi Sam, that was our mistake and we're sorry. The right size ships today."
    assert check_rules(POLITENESS, sorry, lang="en").violations == []


def test_greeting_must_open_the_reply() -> None:
    result = check_rules(POLITENESS, "Your order ships tomorrow morning before two. Hi!", lang="en")
    assert [v.rule_id for v in result.violations] == ["t.greeting"]


PROFANITY = """
  - id: t.profanity
    kind: profanity
    level: error
    message: "'%s'"
    words:
      es: [mierda, cabrón, "hijo de puta", joder]
      en: [shit, "fuck*", negro, ass]
    allow:
      es: [negro, negra]
"""


@pytest.mark.parametrize(
    ("text", "lang", "flagged"),
    [
        ("Vaya m1erda de mensajería.", "es", ["m1erda"]),
        ("Menuda MIERDAAAA, lo sentimos.", "es", ["MIERDAAAA"]),
        ("Ese cabron no llamó.", "es", ["cabron"]),
        ("Ese CABRÓN no llamó.", "es", ["CABRÓN"]),
        ("Menudo hijo de puta.", "es", ["hijo de puta"]),
        ("Oh shiiit, that's late.", "en", ["shiiit"]),
        ("Such a sh!t experience and $h1t service.", "en", ["sh!t", "$h1t"]),
        ("What the fucking hell.", "en", ["fucking"]),
        ("Kick asssss.", "en", ["asssss"]),
        ("The negro case is back.", "en", ["negro"]),
        ("La funda en color negro y la negra vuelven.", "es", []),
        ("Your class assignment and the Scunthorpe shop.", "en", []),
        ("Hi Sam, thanks for the shiitake recipe!", "en", []),
    ],
)
def test_profanity_obscured_words_and_allowlist(text: str, lang: str, flagged: list[str]) -> None:
    result = check_rules(PROFANITY, text, lang=lang)
    assert matches(result) == flagged
    assert result.passed is (not flagged)


COMPETITOR = """
  - id: t.criticism
    kind: competitor
    mode: criticism
    level: error
    goal: legal
    message: "Criticises {competitor}: '%s'"
  - id: t.mention
    kind: competitor
    mode: mention
    level: suggestion
    goal: legal
    message: "Mentions '%s'"
"""
RIVALS = [Competitor(name="Telefonix", aliases=["Tfx", "Telefónix Móvil"])]


def test_competitor_criticism_near_negative_words() -> None:
    text = "Hola Marta, Telefonix es mucho peor, quédate con nosotros."
    result = check_rules(COMPETITOR, text, lang="es", competitors=RIVALS)
    assert [(v.rule_id, v.match) for v in result.violations] == [
        ("t.criticism", "Telefonix"),
        ("t.mention", "Telefonix"),
    ]
    assert result.violations[0].message == "Criticises Telefonix: 'Telefonix'"
    assert not result.passed


def test_competitor_aliases_accents_and_comparisons() -> None:
    text = "Hi Sam, we're cheaper than TFX and telefonix movil is a scam."
    result = check_rules(COMPETITOR, text, lang="en", competitors=RIVALS)
    assert matches(result, "t.criticism") == ["TFX", "telefonix movil"]


def test_neutral_competitor_mention_is_not_criticism() -> None:
    text = "Hi Sam, if you're moving from Telefonix we can port your number."
    result = check_rules(COMPETITOR, text, lang="en", competitors=RIVALS)
    assert [v.rule_id for v in result.violations] == ["t.mention"]
    assert result.passed


@pytest.mark.parametrize(
    ("text", "lang", "criticised"),
    [
        # Comparisons that do not touch the name.
        ("Hola Marta, nuestros routers son más fiables que los de Telefonix.", "es", True),
        ("Hola Marta, la fibra es más estable que la que ofrece Tfx en tu zona.", "es", True),
        ("Hola Marta, a diferencia de Telefonix, no cobramos la instalación.", "es", True),
        ("Hi Sam, we're not like Telefonix, who never answer their customers.", "en", True),
        ("Hi Sam, our plans are far more reliable than the ones Tfx sells.", "en", True),
        # Negative words in any inflection, before or after the name.
        ("Hola Marta, Telefonix mintió a sus clientes con la tarifa.", "es", True),
        ("Hola Marta, los de Telefonix mienten cuando hablan de cobertura.", "es", True),
        ("Hola Marta, muchos clientes fueron engañados por Telefonix.", "es", True),
        ("Hola Marta, Telefonix no es de fiar.", "es", True),
        ("Hi Sam, Telefonix cheated thousands of people last year.", "en", True),
        ("Hi Sam, Telefonix cheats on every bill.", "en", True),
        ("Hi Sam, that was the usual scam of Telefonix.", "en", True),
        ("Hi Sam. We know Telefonix well. They deceive their customers.", "en", True),
        # A next sentence with no subject: its verb still speaks of the competitor.
        ("Hola Marta, sabemos que vienes de Telefonix. Mienten siempre.", "es", True),
        ("Hola Marta, vienes de Telefonix. Siempre engañan a sus clientes.", "es", True),
        ("Hola Marta, vienes de Telefonix. Te estafaron con la permanencia.", "es", True),
        ("Hola Marta, vienes de Telefonix. Nunca cumplen lo que prometen.", "es", True),
        ("Hi Sam, we know you came from Telefonix. Always lying.", "en", True),
        ("Hi Sam, you came from Telefonix. Cheated you on every bill.", "en", True),
        # Comparisons after the name whose other side is the brand.
        ("Hola Marta, Telefonix tarda más que nosotros en hacer la portabilidad.", "es", True),
        ("Hi Sam, Telefonix's delivery is slower than ours.", "en", True),
        ("Hi Sam, Telefonix charges more than we do for the same plan.", "en", True),
        ("Hola Marta, no somos como Telefonix.", "es", True),
        # The brand's own apology or a neutral mention is not criticism.
        ("Hola Marta, la portabilidad desde Telefonix tardó más de lo previsto.", "es", False),
        ("Hi Sam, the port from Telefonix took longer than expected.", "en", False),
        ("Hola Marta, Telefonix y nosotros usamos la misma red en tu zona.", "es", False),
        ("Hola Marta, ten en mente que Telefonix libera el número en 24 horas.", "es", False),
        ("Hola Marta, sentimos el fallo con la portabilidad desde Telefonix.", "es", False),
        ("Hola Marta, lamentamos que la portabilidad desde Telefonix tarde tanto.", "es", False),
        ("Hola Marta, Telefonix ya liberó tu número. Ellos nos lo confirmaron ayer.", "es", False),
        ("Hi Sam, sorry for the bad experience moving your number from Telefonix.", "en", False),
        ("Hi Sam, the port from Telefonix took longer than usual, sorry.", "en", False),
        ("Hi Sam, Telefonix confirmed the port, so sorry for the awful wait.", "en", False),
        # Subject-less next sentences of praise, apology or the brand's own failure.
        ("Hola Marta, vienes de Telefonix. Encantados de tenerte con nosotros.", "es", False),
        ("Hola Marta, Telefonix ya liberó tu número. Lamentamos el retraso.", "es", False),
        ("Hola Marta, Telefonix liberó tu número. Fallamos nosotros al avisarte.", "es", False),
        ("Hola Marta, vienes de Telefonix. Mala suerte con el cambio, te ayudamos.", "es", False),
        ("Hi Sam, Telefonix released your number. Glad to have you with us!", "en", False),
        ("Hi Sam, Telefonix confirmed the port. Failed on our side, sorry.", "en", False),
        ("Hi Sam, Telefonix confirmed the port. Sorry it failed the first time.", "en", False),
        ("Hi Sam, Telefonix released your number. Bad luck with the wait, it's done.", "en", False),
        # Openers in -ed / -ing with a subject of their own, and neutral or brand-positive ones.
        (
            "Hi Sam, Telefonix also ships to Canada. Failed payments are retried for free.",
            "en",
            False,
        ),
        (
            "Hi Sam, thanks for mentioning Tfx. Failed deliveries are re-sent at no cost.",
            "en",
            False,
        ),
        (
            "Hi Sam, Telefonix confirmed the port. Failing that, your number moves Monday.",
            "en",
            False,
        ),
        (
            "Hi Sam, Telefonix released your number. Lying flat, the router fits the box.",
            "en",
            False,
        ),
        (
            "Hi Sam, Telefonix also ships there. Delivered in 3 days, your order is on its way.",
            "en",
            False,
        ),
        (
            "Hi Sam, you mentioned Telefonix. Tested and approved by our team, it ships Friday.",
            "en",
            False,
        ),
        (
            "Hola Marta, Telefonix envía a Canarias. Entregado en 3 días, tu pedido ya sale.",
            "es",
            False,
        ),
        (
            "Hola Marta, nombras a Telefonix. Probado y aprobado por el equipo, llega el lunes.",
            "es",
            False,
        ),
        (
            "Hola Marta, Telefonix liberó tu número. Los pagos fallidos se reintentan gratis.",
            "es",
            False,
        ),
        # Subject-less criticism: a verb with an object, a passive by them, or a bare verdict.
        ("Hi Sam, we looked at Telefonix. Overpriced and unreliable.", "en", True),
        ("Hi Sam, you came from Telefonix. Disappointed by them, like so many.", "en", True),
        ("Hi Sam, Telefonix? Terrible. Overrated.", "en", True),
        ("Hi Sam, you came from Telefonix. Failed you again and again.", "en", True),
        (
            "Hi Sam, you came from Telefonix. Scammed thousands of people who are still paying.",
            "en",
            True,
        ),
        ("Hi Sam, you came from Telefonix. Lying is what they do best.", "en", True),
        ("Hola Marta, vienes de Telefonix. Un desastre.", "es", True),
        ("Hola Marta, ¿Telefonix? Decepcionante y caro.", "es", True),
        ("Hola Marta, vienes de Telefonix. Fallan siempre con la fibra.", "es", True),
        ("Hola Marta, vienes de Telefonix. Engañaron a miles de clientes.", "es", True),
        ("Hola Marta, vienes de Telefonix. Os mintieron con la permanencia.", "es", True),
        ("Hola Marta, vienes de Telefonix. Una estafa y un timo.", "es", True),
    ],
)
def test_competitor_criticism_in_real_replies(text: str, lang: str, criticised: bool) -> None:
    result = check_rules(COMPETITOR, text, lang=lang, competitors=RIVALS)
    assert bool(matches(result, "t.criticism")) is criticised, result.violations
    assert matches(result, "t.mention")


def test_competitor_negative_words_of_the_brand_count_in_every_inflection() -> None:
    rules = COMPETITOR.replace(
        "    mode: criticism\n", "    mode: criticism\n    negative_words: {es: [chapucear]}\n"
    )
    text = "Hola Marta, Telefonix chapuceó la instalación."
    assert matches(check_rules(rules, text, lang="es", competitors=RIVALS), "t.criticism")


CHANNEL = """
  - id: t.length
    kind: channel_limit
    level: error
    message: "{length} > {limit} on {channel}"
"""


def test_x_weighted_length_counts_urls_as_23_and_emoji_as_2() -> None:
    url = "https://help.example.com/" + "a" * 200
    fits = "Hi Sam, " + "x" * 240 + " " + url  # 8 + 240 + 1 + 23 = 272
    assert check_rules(CHANNEL, fits, lang="en", channel="x").passed
    emoji = "😀" * 141  # 282 weighted, 141 code points
    result = check_rules(CHANNEL, emoji, lang="en", channel="x")
    assert [v.message for v in result.violations] == ["282 > 280 on x"]
    cjk = "日本" * 70 + "a"  # 281
    assert not check_rules(CHANNEL, cjk, lang="en", channel="x").passed


def test_channel_limits_defaults_and_brand_overrides() -> None:
    text = "a" * 2500
    assert not check_rules(CHANNEL, text, lang="es", channel="instagram").passed
    assert check_rules(CHANNEL, text, lang="es", channel="whatsapp").passed
    assert check_rules(CHANNEL, text, lang="es").passed  # no channel, no limit
    limited = check_rules(
        CHANNEL, "a" * 120, lang="es", channel="whatsapp", channel_limits={"whatsapp": 100}
    )
    assert limited.violations[0].span.start == 100


LINKS = """
  - id: t.short
    kind: links
    check: shorteners
    domains: [bit.ly, tinyurl.com]
    message: "'%s'"
  - id: t.allowed
    kind: links
    check: allowed_domains
    message: "'%s'"
  - id: t.http
    kind: links
    check: insecure
    message: "'%s'"
"""


def test_links_shorteners_allowed_domains_and_https() -> None:
    text = "Mira https://bit.ly/abc, http://ayuda.example.com/x y https://foro.net/y."
    result = check_rules(LINKS, text, lang="es", allowed_domains=["example.com"])
    assert [(v.rule_id, v.match) for v in result.violations] == [
        ("t.allowed", "https://bit.ly/abc"),
        ("t.short", "https://bit.ly/abc"),
        ("t.http", "http://ayuda.example.com/x"),
        ("t.allowed", "https://foro.net/y"),
    ]


def test_hashtags_emoji_and_shouting() -> None:
    rules = """
  - id: t.tags
    kind: hashtags
    max: 1
    message: "tags"
  - id: t.emoji
    kind: emoji
    max: 2
    message: "emoji"
  - id: t.caps
    kind: shouting
    message: "'%s'"
"""
    text = "¡GRACIAS Marta! Escríbenos por DM 😍🎉👍🏽 #verano #rebajas"
    result = check_rules(rules, text, lang="es")
    assert [(v.rule_id, v.match) for v in result.violations] == [
        ("t.caps", "GRACIAS"),
        ("t.emoji", "👍🏽"),
        ("t.tags", "#rebajas"),
    ]


def test_pii_rule_reports_kinds() -> None:
    rules = """
  - id: t.pii
    kind: pii
    kinds: [card, dni]
    level: error
    message: "{kind}: '%s'"
"""
    text = "Hola Marta, con el DNI 12345678Z y la tarjeta 4111 1111 1111 1111, o marta@example.es."
    result = check_rules(rules, text, lang="es")
    assert [v.message for v in result.violations] == [
        "DNI: '12345678Z'",
        "tarjeta: '4111 1111 1111 1111'",
    ]
    result = check_rules(rules, text, lang="en")
    assert [v.message for v in result.violations][1] == "card number: '4111 1111 1111 1111'"


def test_pii_rule_ignores_the_brands_own_addresses() -> None:
    rules = """
  - id: t.contact
    kind: pii
    kinds: [email]
    message: "'%s'"
"""
    text = "Hi Sam, write to help@support.example.com, not sam.jones@gmail.com."
    result = check_rules(rules, text, lang="en", allowed_domains=["example.com"])
    assert matches(result) == ["sam.jones@gmail.com"]


def test_overlapping_phrases_report_once_per_rule_but_never_hide_other_rules() -> None:
    rules = """
  - id: t.canned
    kind: existence
    message: "'%s'"
    tokens: ['dear (valued )?customer', 'valued customer']
  - id: t.valued
    kind: substitution
    message: "Use '%s' instead of '%s'."
    swap: {valued customer: customer}
"""
    result = check_rules(rules, "Dear valued customer, thanks.", lang="en")
    assert [(v.rule_id, v.match) for v in result.violations] == [
        ("t.canned", "Dear valued customer"),
        ("t.valued", "valued customer"),
    ]
