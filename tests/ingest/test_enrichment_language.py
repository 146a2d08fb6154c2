"""Language detection of inbound posts (lingua with short-text fallback)."""

from __future__ import annotations

import pytest

from services.ingest.enrichment import detect_language
from shared.text.tokens import strip_for_language


@pytest.mark.parametrize(
    "text",
    [
        "Llevo dos semanas esperando mi pedido y nadie me responde 😡",
        "¡Me encanta la nueva tienda de Madrid! Gracias 🙌",
        "¿A qué hora abrís mañana? Quería pasar a recoger un paquete",
        "@Movistar_ES el router no funciona desde ayer por la tarde https://t.co/abc123",
    ],
)
def test_detects_spanish(text: str) -> None:
    assert detect_language(text, default="en") == "es"


@pytest.mark.parametrize(
    "text",
    [
        "I've been waiting two weeks for my order and nobody answers 😡",
        "Love the new store in Madrid! Thanks 🙌",
        "What time do you open tomorrow? I need to pick up a parcel",
        "@AcmeSupport my router has not been working since yesterday https://t.co/xyz789",
    ],
)
def test_detects_english(text: str) -> None:
    assert detect_language(text, default="es") == "en"


@pytest.mark.parametrize(
    "text", ["ok 👍", "gracias!!", "👍👍👍", "", "   ", "@user https://t.co/x"]
)
@pytest.mark.parametrize("default", ["es", "en", None])
def test_very_short_posts_fall_back_to_default(text: str, default: str | None) -> None:
    assert detect_language(text, default=default) == default


def test_mentions_and_urls_do_not_count_as_words() -> None:
    # Three English-looking handles and a URL, but only two real Spanish words.
    text = "@best_store_ever @customer_care_team hola gracias https://example.com/some/english/path"
    assert detect_language(text, default="es") == "es"
    assert detect_language(text, default=None) is None


def test_strip_for_language_removes_mentions_urls_hash_marks_and_emoji() -> None:
    cleaned = strip_for_language("@Iberia #vuelo cancelado 😡😡 https://t.co/x www.a.es")
    assert cleaned == "vuelo cancelado"  # too few words left without the hashtag: keep its word


def test_strip_for_language_drops_hashtags_when_enough_words_remain() -> None:
    text = "Cuando sales a comer solo #sunglasses #blackandwhite #mall"
    assert strip_for_language(text) == "Cuando sales a comer solo"
    assert detect_language(text, default=None) == "es"


def test_long_text_in_another_language_is_detected() -> None:
    text = (
        "Bonjour, je voudrais savoir quand ma commande sera livrée, merci beaucoup pour votre aide"
    )
    assert detect_language(text, default="es") == "fr"


def test_medium_text_prefers_spanish_or_english_over_close_languages() -> None:
    # Short enough to be ambiguous with Portuguese/Catalan/Italian: es/en come first.
    assert detect_language("mi pedido no llega nunca", default=None) == "es"


def test_default_language_counts_as_primary() -> None:
    text = "Obrigado pela ajuda de vocês"
    assert detect_language(text, default="pt") == "pt"
