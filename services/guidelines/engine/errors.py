"""Errors raised by the rule engine; the HTTP layer maps them to problem+json responses."""

from __future__ import annotations


class GuidelineEngineError(Exception):
    """Base class of every error the rule engine raises on purpose."""


class RuleLoadError(GuidelineEngineError):
    """A rule pack, a rule or a guideline could not be loaded.

    Carries the rule id (when known), the source (file name or label) and the 1-based line of
    the offending YAML node so an author can fix it without guessing.
    """

    def __init__(
        self,
        reason: str,
        *,
        source: str,
        rule_id: str | None = None,
        line: int | None = None,
    ) -> None:
        self.reason = reason
        self.source = source
        self.rule_id = rule_id
        self.line = line
        where = source if line is None else f"{source}:{line}"
        rule = f" rule {rule_id!r}" if rule_id else ""
        super().__init__(f"{where}:{rule} {reason}")


class TextTooLongError(GuidelineEngineError):
    """The text to check is over the size limit (the API answers 413)."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"text is {size} bytes, the limit is {limit} bytes")
