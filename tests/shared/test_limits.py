"""Pure parts of shared.limits and the problem+json documentation of shared.errors."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import document_problems
from shared.limits import MAX_JSON_DEPTH, unstorable_text


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"text": "ok"}, None),
        ({"text": "emoji \U0001f621"}, None),
        ({"text": "a\x00b"}, "text"),
        ({"items": [{"text": "ok"}, {"text": "\ud800"}]}, "items.1.text"),
        ({"ke\x00y": 1}, "ke\x00y"),
        ("\udfff", ""),
    ],
)
def test_unstorable_text_names_the_field(value: Any, where: str | None) -> None:
    assert unstorable_text(value) == where


def test_nesting_past_the_limit_is_refused() -> None:
    value: Any = "ok"
    for _ in range(MAX_JSON_DEPTH + 5):
        value = [value]
    assert unstorable_text(value) is not None


def test_errors_are_documented_as_problem_json() -> None:
    document: dict[str, Any] = {
        "paths": {
            "/v1/things/{thing_id}": {
                "put": {
                    "parameters": [{"name": "thing_id", "in": "path"}],
                    "requestBody": {"content": {"application/json": {}}},
                    "responses": {
                        "200": {"description": "ok", "content": {"application/json": {}}},
                        "422": {"description": "bad", "content": {"application/json": {}}},
                    },
                }
            }
        }
    }
    responses = document_problems(document)["paths"]["/v1/things/{thing_id}"]["put"]["responses"]
    assert set(responses) == {"200", "400", "404", "413", "422"}
    assert list(responses["200"]["content"]) == ["application/json"]
    for status in ("400", "404", "413", "422"):
        assert list(responses[status]["content"]) == ["application/problem+json"]
    assert "ValidationProblem" in document["components"]["schemas"]
