"""The text of a canned reply as a template (pure: no FastAPI, no database).

Variables are written `{{name}}` (spaces inside the braces allowed); the known ones are
`customer_name`, `order_id` and `agent_name`. Written here rather than with a template engine:
three fixed names and plain substitution, where Jinja's syntax (filters, blocks) would let a
stored text do more than fill in a value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

VARIABLES = ("customer_name", "order_id", "agent_name")
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NAME = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")

# What the guideline check sees in place of each variable, per language: plausible values, so
# the check reads a sentence a customer would read (a greeting with a name, an order number).
SAMPLES: dict[str, dict[str, str]] = {
    "es": {"customer_name": "Lucía", "order_id": "4411", "agent_name": "Carmen"},
    "en": {"customer_name": "Sam", "order_id": "4411", "agent_name": "Alex"},
}

# An order number in a customer's message: after a word for "order" (pedido, orden, order,
# compra, ref...) and an optional "nº", "#", "number", ":", "es", "is"; or a bare "#" and
# digits. It must hold a digit, so "order status" is no order number.
_ORDER = re.compile(
    r"(?:\b(?:n[uú]mero\s+de\s+pedido|pedido|orden|compra|order(?:\s+number)?|ref(?:erencia)?)"
    r"\s*(?:n[º°o]\.?|#|number|n[uú]mero|no\.?|:)?\s*:?\s*(?:(?:es|is|era|was)\s+)?#?"
    r"|#)"
    r"(?P<id>(?=[A-Za-z0-9\-]*\d)[A-Za-z0-9][A-Za-z0-9\-]{2,29})\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Placeholder:
    start: int
    end: int
    name: str  # as written, stripped


def placeholders(text: str) -> list[Placeholder]:
    found = []
    for match in _PLACEHOLDER.finditer(text):
        name = _NAME.match(match.group(1))
        found.append(
            Placeholder(match.start(), match.end(), name.group(1) if name else match.group(1))
        )
    return found


def unknown_variables(text: str) -> list[str]:
    """The names written in braces that are not known variables, in order, once each; an
    unclosed `{{` counts as unknown too."""
    unknown: list[str] = []
    for placeholder in placeholders(text):
        if placeholder.name not in VARIABLES and placeholder.name not in unknown:
            unknown.append(placeholder.name)
    rest = _PLACEHOLDER.sub("", text)
    if "{{" in rest and "{{" not in unknown:
        unknown.append("{{")
    return unknown


def variables_of(text: str) -> list[str]:
    """The known variables the text uses, in order, once each."""
    used: list[str] = []
    for placeholder in placeholders(text):
        if placeholder.name in VARIABLES and placeholder.name not in used:
            used.append(placeholder.name)
    return used


@dataclass(frozen=True)
class Filled:
    text: str
    missing: list[str]
    # (start, end) in the template → (start, end) in the filled text, for each piece.
    pieces: list[tuple[int, int, int, int, bool]]

    def to_template(self, start: int, end: int) -> tuple[int, int]:
        """A span of the filled text as a span of the template: a span touching a filled-in
        value widens to that value's whole placeholder."""
        return self._position(start, is_end=False), self._position(end, is_end=True)

    def _position(self, at: int, *, is_end: bool) -> int:
        for template_start, template_end, start, end, is_value in self.pieces:
            inside = start <= at < end if not is_end else start < at <= end
            if inside:
                if is_value:
                    return template_end if is_end else template_start
                return template_start + (at - start)
        return self.pieces[-1][1] if self.pieces and is_end else 0


def fill(template: str, values: Mapping[str, str | None]) -> Filled:
    """The template with each known variable that has a value filled in; the others stay as
    written and are listed in `missing`."""
    out: list[str] = []
    pieces: list[tuple[int, int, int, int, bool]] = []
    missing: list[str] = []
    position = 0
    length = 0
    for placeholder in placeholders(template):
        literal = template[position : placeholder.start]
        if literal:
            pieces.append((position, placeholder.start, length, length + len(literal), False))
            out.append(literal)
            length += len(literal)
        value = values.get(placeholder.name) if placeholder.name in VARIABLES else None
        if value is None:
            value = template[placeholder.start : placeholder.end]
            if placeholder.name not in missing:
                missing.append(placeholder.name)
        pieces.append((placeholder.start, placeholder.end, length, length + len(value), True))
        out.append(value)
        length += len(value)
        position = placeholder.end
    tail = template[position:]
    if tail:
        pieces.append((position, len(template), length, length + len(tail), False))
        out.append(tail)
    return Filled("".join(out), missing, pieces)


def sample_values(lang: str) -> dict[str, str | None]:
    return dict(SAMPLES.get(lang, SAMPLES["en"]))


def find_order_id(texts: Sequence[str]) -> str | None:
    """The order number a customer mentions, from the newest text that has one."""
    for text in reversed(texts):
        match = _ORDER.search(text)
        if match:
            return match.group("id")
    return None
