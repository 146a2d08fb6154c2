"""shared.pii: emails, phones, cards (Luhn), IBAN (mod-97), DNI/NIE (check letters)."""

from __future__ import annotations

import pytest

from shared.pii import dni_valid, find_pii, iban_valid, luhn_valid, nie_valid


def kinds(text: str) -> list[tuple[str, str]]:
    return [(match.kind, match.text) for match in find_pii(text)]


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("5500005555555559", True),
        ("378282246310005", True),
        ("378282246310006", False),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("ES91 2100 0418 4502 0005 1332", True),
        ("ES91 2100 0418 4502 0005 1333", False),
        ("GB82 WEST 1234 5698 7654 32", True),
        ("GB82 WEST 1234 5698 7654 33", False),
        ("ES91 2100 0418 4502 0005 133", False),
    ],
)
def test_iban_mod97_and_country_length(iban: str, valid: bool) -> None:
    assert iban_valid(iban) is valid


def test_dni_and_nie_check_letters() -> None:
    assert dni_valid("12345678", "Z")
    assert not dni_valid("12345678", "A")
    assert nie_valid("X", "1234567", "L")
    assert nie_valid("Y", "1234567", "X")
    assert not nie_valid("X", "1234567", "A")


def test_finds_every_kind_in_a_spanish_post() -> None:
    text = (
        "Hola, soy Marta (marta.lopez@example.es), mi móvil es 612 345 678, DNI 12345678Z, "
        "NIE X1234567L, tarjeta 4111 1111 1111 1111 y cuenta ES91 2100 0418 4502 0005 1332."
    )
    assert kinds(text) == [
        ("email", "marta.lopez@example.es"),
        ("phone", "612 345 678"),
        ("dni", "12345678Z"),
        ("nie", "X1234567L"),
        ("card", "4111 1111 1111 1111"),
        ("iban", "ES91 2100 0418 4502 0005 1332"),
    ]
    for match in find_pii(text):
        assert text[match.start : match.end] == match.text


def test_finds_english_contact_data() -> None:
    text = "Call me on +44 20 7946 0958 or (555) 123-4567, or email sam@example.co.uk."
    assert kinds(text) == [
        ("phone", "+44 20 7946 0958"),
        ("phone", "(555) 123-4567"),
        ("email", "sam@example.co.uk"),
    ]


def test_invalid_check_digits_are_not_reported() -> None:
    text = (
        "Pedido 4111 1111 1111 1112, DNI 12345678A, NIE X1234567A, "
        "IBAN ES91 2100 0418 4502 0005 1333"
    )
    assert [kind for kind, _text in kinds(text)] == []


def test_plain_text_and_short_numbers_have_no_pii() -> None:
    assert find_pii("Tu pedido llega mañana antes de las 14:00, pedido n.º 5521.") == []
    assert find_pii("Hi Sam, your order ships tomorrow at 2pm.") == []
