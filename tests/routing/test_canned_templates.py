"""Canned reply templates (pure): variables, filling, spans mapped back, order numbers."""

from __future__ import annotations

import pytest

from services.routing.canned.templates import (
    fill,
    find_order_id,
    sample_values,
    unknown_variables,
    variables_of,
)

TEMPLATE = "Hola {{customer_name}}, el pedido {{ order_id }} sale hoy. Un saludo, {{agent_name}}"


def test_variables_and_unknown_names() -> None:
    assert variables_of(TEMPLATE) == ["customer_name", "order_id", "agent_name"]
    assert unknown_variables(TEMPLATE) == []
    assert unknown_variables("Hi {{name}}, {{customer_name}} {{ name }} {{first name}}") == [
        "name",
        "first name",
    ]
    assert unknown_variables("Hi {{customer_name}, thanks") == ["{{"]


def test_fill_and_map_spans_back() -> None:
    filled = fill(TEMPLATE, sample_values("es"))
    assert filled.text == "Hola Lucía, el pedido 4411 sale hoy. Un saludo, Carmen"
    assert filled.missing == []
    start = filled.text.index("sale")
    mapped = filled.to_template(start, start + 4)
    assert TEMPLATE[mapped[0] : mapped[1]] == "sale"
    # A span over a filled-in value is the whole placeholder in the template.
    start = filled.text.index("Lucía")
    mapped = filled.to_template(start, start + 2)
    assert TEMPLATE[mapped[0] : mapped[1]] == "{{customer_name}}"
    english = fill(TEMPLATE, sample_values("en"))
    assert "Sam" in english.text


def test_unknown_values_stay_as_written() -> None:
    filled = fill(TEMPLATE, {"customer_name": "Marta", "order_id": None})
    assert filled.text == "Hola Marta, el pedido {{ order_id }} sale hoy. Un saludo, {{agent_name}}"
    assert filled.missing == ["order_id", "agent_name"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mi pedido nº 88231 no llega", "88231"),
        ("El número de pedido es 55-1234", "55-1234"),
        ("Pedido: 12345, ¿dónde está?", "12345"),
        ("my order #A-5512 is missing", "A-5512"),
        ("Order number 778899 arrived broken", "778899"),
        ("#99812 llegó roto", "99812"),
        ("my order status?", None),
        ("Hola, ¿tenéis la talla M?", None),
    ],
)
def test_order_numbers_in_spanish_and_english(text: str, expected: str | None) -> None:
    assert find_order_id([text]) == expected


def test_the_newest_message_with_an_order_number_wins() -> None:
    assert find_order_id(["pedido 1111", "nada", "perdón, era el pedido 2222"]) == "2222"
