"""Language detection: the function-word fast path and the lingua fallback."""

from __future__ import annotations

import pytest

from shared.text.language import detect_language, quick_guess


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Llevo dos semanas esperando mi pedido y nadie me responde", "es"),
        ("¿Por qué no está disponible todavía? Nadie me dice nada", "es"),
        ("My order never arrived and nobody answers my emails", "en"),
        ("Thanks for the quick help, it works now and we're happy", "en"),
        # Neighbours share words with Spanish or English: never decided by the fast path.
        ("Obrigado pela ajuda, o pedido chegou hoje de manhã", None),
        ("Merci pour votre aide, la commande est arrivée ce matin", None),
        ("Grazie per l'aiuto, il pacco è arrivato stamattina", None),
        ("Das Paket ist heute angekommen, was will man mehr", None),
    ],
)
def test_quick_guess_decides_only_clear_cases(text: str, expected: str | None) -> None:
    assert quick_guess(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Obrigado pela ajuda, o pedido chegou hoje de manhã e está tudo certo", "pt"),
        ("Merci pour votre aide, la commande est arrivée ce matin", "fr"),
        ("Hola @acme, el envío llegó roto https://t.co/abc #fail", "es"),
        ("ok 👍", "es"),  # too short: the connection's default
    ],
)
def test_lingua_handles_the_rest(text: str, expected: str) -> None:
    assert detect_language(text, default="es") == expected
