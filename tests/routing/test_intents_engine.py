"""The intents engine: the issue's boundary cases in both languages, determinism, bad input,
the labelled set's shape, and quality on the held-out test split."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from services.gateway.proxy import resolve
from services.routing.intents import (
    DEFINITIONS,
    INTENTS,
    EmptyTextError,
    Intent,
    IntentClassifier,
    TextTooLongError,
    UnsupportedLanguageError,
    describe_intents,
    get_classifier,
    load_model,
)
from services.routing.intents.dataset import (
    LANGUAGES,
    DatasetError,
    load_split,
    parse_examples,
)
from services.routing.intents.evaluation import evaluate
from services.routing.intents.features import extract, normalise

BOUNDARY_CASES = [
    # A question that is really a complaint.
    ("why does nobody answer?? been messaging for days", "en", Intent.complaint),
    ("¿por qué nadie contesta?? llevo días escribiendo", "es", Intent.complaint),
    ("xq nadie responde los mensajes??", "es", Intent.complaint),
    # One broken product is a complaint; people hurt is a crisis.
    ("the blender I bought arrived broken", "en", Intent.complaint),
    ("la batidora que compré llegó rota", "es", Intent.complaint),
    ("your heater exploded and my kid is in hospital with burns", "en", Intent.crisis),
    (
        "vuestro calentador explotó y mi hijo está en el hospital con quemaduras",
        "es",
        Intent.crisis,
    ),
    # A journalist asking about an incident is a press inquiry.
    (
        "I'm a journalist at the Daily Post, can you comment on the fire at your factory?",
        "en",
        Intent.press_inquiry,
    ),
    (
        "soy periodista de un diario local, ¿pueden comentar el incendio de la fábrica?",
        "es",
        Intent.press_inquiry,
    ),
    # A former employee about their own pay is an employee matter.
    (
        "I used to work at your Leeds store and you still owe me my last month's pay",
        "en",
        Intent.employee_matter,
    ),
    (
        "trabajé en vuestra tienda hasta marzo y aún no me habéis pagado la última nómina",
        "es",
        Intent.employee_matter,
    ),
    # B2B offers are partnerships.
    (
        "We are a packaging supplier and would like to offer you our products",
        "en",
        Intent.partnership,
    ),
    (
        "somos una empresa de transporte y queremos ofreceros nuestros servicios",
        "es",
        Intent.partnership,
    ),
    # Negation.
    ("no quiero comprar, solo saber si tenéis la talla 42", "es", Intent.question),
    ("not buying, just want to know if it comes in black", "en", Intent.question),
    # Sarcasm.
    ("genial, tercera vez que me cancelan el pedido", "es", Intent.complaint),
    ("great, lost again 👏", "en", Intent.complaint),
    # Chat spelling, ustedes/vosotros, mixed intents where one dominates.
    ("q buen servicio, gracias x todo!!", "es", Intent.praise),
    ("ustedes tienen envío a Monterrey? quiero comprar dos", "es", Intent.purchase_intent),
    ("vosotros hacéis envíos a Canarias?", "es", Intent.question),
    ("love the app, but you should add a dark mode", "en", Intent.feedback_idea),
]


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return get_classifier()


@pytest.mark.parametrize(("text", "lang", "expected"), BOUNDARY_CASES)
def test_boundary_cases_of_the_definitions(
    classifier: IntentClassifier, text: str, lang: str, expected: Intent
) -> None:
    prediction = classifier.classify(text, lang)
    assert prediction.intent == expected, prediction
    assert prediction.lang == lang
    assert prediction.confidence > max(
        (alt.confidence for alt in prediction.alternatives), default=0
    )


def test_every_intent_is_defined_in_both_languages() -> None:
    assert set(DEFINITIONS) == set(Intent)
    assert len(INTENTS) == 14
    for definition in DEFINITIONS.values():
        assert definition.en
        assert definition.es
    described = describe_intents()
    assert all(f"`{intent.value}`" in described for intent in Intent)


def test_deterministic_across_calls_and_loads(classifier: IntentClassifier) -> None:
    texts = [text for text, _, _ in BOUNDARY_CASES]
    first = [classifier.classify(text) for text in texts]
    again = IntentClassifier(load_model())
    assert [again.classify(text) for text in texts] == first
    assert [classifier.classify(text) for text in texts] == first


def test_bad_input(classifier: IntentClassifier) -> None:
    for blank in ("", "  \n\t"):
        with pytest.raises(EmptyTextError):
            classifier.classify(blank)
    with pytest.raises(TextTooLongError):
        classifier.classify("ñ" * 40_000)  # 80 KB of UTF-8 in 40,000 characters
    classifier.classify("a" * 65_536)  # exactly 64 KiB is allowed
    with pytest.raises(UnsupportedLanguageError, match="es, en"):
        classifier.classify("hola", "fr")


def test_other_language_is_detected_with_lower_confidence(classifier: IntentClassifier) -> None:
    french = classifier.classify("Bonjour, je voudrais savoir où est ma commande, merci beaucoup")
    assert french.lang == "fr"
    assert french.confidence <= 0.5
    short = classifier.classify("👍")
    assert (short.intent, short.lang) == (Intent.other, None)


def test_normalisation_meets_chat_spelling_and_emoji() -> None:
    assert normalise("Xq nadie contesta?? q verguenza", "es") == normalise(
        "porque nadie contesta?? que vergüenza", "es"
    )
    assert normalise("thx u r great", "en")[:2] == ["thanks", "you"]
    assert "emo_clap" in normalise("great 👏", "en")
    assert normalise("#BoicotMarca @marca https://x.co/a", "es") == [
        "tok_hashtag",
        "boicotmarca",
        "tok_mention",
        "tok_url",
    ]
    assert "cue:sarcasm" in extract("genial, tercera vez que me cancelan", "es").cues
    assert "cue:purchase_intent" not in extract("no quiero comprar, solo saber", "es").cues


def test_labelled_set_is_balanced_varied_and_split() -> None:
    for lang in LANGUAGES:
        train, test = load_split(lang, "train"), load_split(lang, "test")
        posts = train + test
        assert len(posts) >= 250
        per_intent = Counter(post.intent for post in posts)
        assert set(per_intent) == set(Intent)
        assert max(per_intent.values()) - min(per_intent.values()) <= 2
        assert sum(post.hard for post in posts) >= len(posts) / 3 - 1
        assert len({post.channel for post in posts}) >= 6
        assert not {post.text for post in train} & {post.text for post in test}
        assert len({post.text for post in posts}) == len(posts)


def test_macro_f1_on_the_held_out_test_split(classifier: IntentClassifier) -> None:
    for lang in LANGUAGES:
        posts = load_split(lang, "test")
        report = evaluate(
            (post.intent, classifier.classify(post.text, lang).intent) for post in posts
        )
        assert report.macro_f1 >= 0.80, (lang, report.macro_f1, report.confusions[:5])


def test_evaluation_arithmetic() -> None:
    report = evaluate(
        [
            (Intent.complaint, Intent.complaint),
            (Intent.complaint, Intent.question),
            (Intent.question, Intent.question),
            (Intent.praise, Intent.praise),
        ]
    )
    assert report.per_intent[Intent.complaint].recall == 0.5
    assert report.per_intent[Intent.question].precision == 0.5
    assert report.macro_f1 == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert report.confusions == [(Intent.complaint, Intent.question, 1)]


def test_exported_examples_parse_and_bad_files_name_the_line(tmp_path: Path) -> None:
    jsonl = '{"text": "hola", "intent": "praise", "lang": "es"}\n'
    assert parse_examples(jsonl)[0].intent == Intent.praise
    csv_text = 'id,text,intent,lang\n1,"multi\nline, text",question,en\n'
    assert parse_examples(csv_text)[0].text == "multi\nline, text"
    with pytest.raises(DatasetError):
        parse_examples('{"text": "x", "intent": "nope"}')
    (tmp_path / "es.train.txt").write_text("complaint x 0 no separator\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="es.train.txt:1"):
        load_split("es", "train", tmp_path)


def test_gateway_routes_intents_to_routing() -> None:
    assert resolve("/v1/intents/classify").service == "routing"
    assert resolve("/v1/intents/examples").service == "routing"


def test_cached_scoring_equals_scoring_by_feature_name(classifier: IntentClassifier) -> None:
    from services.routing.intents.features import cue_features

    model = classifier.model
    for post in load_split("es", "test") + load_split("en", "test"):
        by_name = model.scores(extract(post.text, post.lang))
        tokens = normalise(post.text, post.lang)
        cached = model.score_tokens(tokens, cue_features(tokens, post.lang))
        assert max(abs(a - b) for a, b in zip(by_name, cached, strict=True)) < 1e-6
        assert by_name.index(max(by_name)) == cached.index(max(cached))
