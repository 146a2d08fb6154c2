"""Routing rules as authors write them: conditions (all must hold), actions, order and flags.

The models double as request bodies (`POST/PUT /v1/rules`): unknown fields are refused, so a
misspelt condition is a 422 naming it rather than a rule that silently matches everything;
an unsafe regular expression is a 422 on `conditions.pattern`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from services.routing.intents.definitions import Intent
from shared.events.cases import Priority
from shared.events.interactions import Channel, SentimentLabel
from shared.limits import InputModel
from shared.patterns import UnsafePatternError, compile_author_pattern

MAX_PATTERN_CHARS = 500
MAX_KEYWORDS = 200
MAX_KEYWORD_CHARS = 100
MAX_LIST = 100

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Lang = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
Tag = Annotated[str, StringConstraints(pattern=r"^\w[\w:./-]{0,63}$")]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Keyword = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_KEYWORD_CHARS)
]

_WORD = re.compile(r"\w", re.UNICODE)


class TimeWindow(BaseModel):
    """Local time of day (optionally on some weekdays) in a time zone; wraps past midnight
    when `end` is before `start` (22:00-06:00 is the night)."""

    model_config = ConfigDict(extra="forbid")

    start: time
    end: time
    time_zone: str = Field(default="UTC", description="IANA time zone, e.g. Europe/Madrid.")
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] | None = Field(
        default=None, min_length=1, max_length=7, description="0 = Monday … 6 = Sunday."
    )

    @field_validator("start", "end")
    @classmethod
    def _local(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("give a local time without an offset; the zone is time_zone")
        return value

    @field_validator("end")
    @classmethod
    def _not_empty(cls, value: time, info: ValidationInfo) -> time:
        if info.data.get("start") == value:
            raise ValueError("end must differ from start")
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.time_zone))
        if self.weekdays is not None and local.weekday() not in self.weekdays:
            return False
        now = local.time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end


class RuleConditions(BaseModel):
    """All optional and ANDed; a rule without conditions matches every interaction."""

    model_config = ConfigDict(extra="forbid")

    channels: list[Channel] | None = Field(default=None, min_length=1, max_length=MAX_LIST)
    account_ids: list[Identifier] | None = Field(default=None, min_length=1, max_length=MAX_LIST)
    languages: list[Lang] | None = Field(default=None, min_length=1, max_length=MAX_LIST)
    intents: list[Intent] | None = Field(default=None, min_length=1, max_length=MAX_LIST)
    min_intent_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    sentiment_labels: list[SentimentLabel] | None = Field(default=None, min_length=1, max_length=3)
    sentiment_score_min: float | None = Field(default=None, ge=-1.0, le=1.0)
    sentiment_score_max: float | None = Field(default=None, ge=-1.0, le=1.0)
    keywords: list[Keyword] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_KEYWORDS,
        description="Any of these words or phrases, whole words, ignoring case and accents.",
    )
    pattern: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_PATTERN_CHARS,
        description="A regular expression searched in the text, ignoring case; refused (422) "
        "when it could backtrack catastrophically, e.g. (a+)+.",
    )
    min_followers: int | None = Field(default=None, ge=0, le=2**62)
    verified: bool | None = None
    pii: bool | None = None
    outside_working_hours: bool | None = None
    time_of_day: TimeWindow | None = Field(
        default=None, description="The interaction arrives inside this local time window."
    )
    vip: bool | None = None
    known_author: bool | None = None

    @field_validator("keywords")
    @classmethod
    def _keywords_have_words(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for keyword in value:
            if not _WORD.search(keyword):
                raise ValueError(f"keyword {keyword!r} has no letters or digits to match")
        return list(dict.fromkeys(value))

    @field_validator("pattern")
    @classmethod
    def _pattern_is_safe(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                compile_author_pattern(value, ignorecase=True)
            except UnsafePatternError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("sentiment_score_max")
    @classmethod
    def _score_range(cls, value: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("sentiment_score_min")
        if value is not None and low is not None and value < low:
            raise ValueError(f"must be at least sentiment_score_min ({low})")
        return value


class RuleActions(BaseModel):
    """What a matching rule does; at least one action."""

    model_config = ConfigDict(extra="forbid")

    department: Slug | None = None
    priority: Priority | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_LIST)
    sla_policy_id: Identifier | None = None
    require_approval: bool = False
    skills_required: list[Tag] = Field(default_factory=list, max_length=MAX_LIST)
    notify: bool = Field(
        default=False, description="Publish an event other systems can subscribe to."
    )
    close: bool = Field(default=False, description="Close the case without an owner (spam).")

    @model_validator(mode="after")
    def _does_something(self) -> Self:
        if not (
            self.department
            or self.priority
            or self.tags
            or self.sla_policy_id
            or self.require_approval
            or self.skills_required
            or self.notify
            or self.close
        ):
            raise ValueError("a rule needs at least one action")
        if self.close and self.department:
            raise PydanticCustomError(
                "close_with_department",
                "close leaves the case without a department: set close or department, not both",
            )
        return self

    @field_validator("tags", "skills_required")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


RULE_EXAMPLE: dict[str, Any] = {
    "name": "Negative, large reach → PR / Negativo y gran alcance → RR. PP.",
    "position": 40,
    "enabled": True,
    "stop": False,
    "conditions": {"sentiment_labels": ["negative"], "min_followers": 10000},
    "actions": {
        "department": "pr",
        "priority": "high",
        "require_approval": True,
        "tags": ["large_reach"],
    },
}


class RuleSpec(InputModel):
    """A rule as created or replaced (`POST /v1/rules`, `PUT /v1/rules/{id}`)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [RULE_EXAMPLE]})

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    position: int = Field(default=0, ge=0, le=1_000_000, description="Lower runs first.")
    enabled: bool = True
    stop: bool = Field(default=False, description="When it matches, later rules are skipped.")
    conditions: RuleConditions = Field(default_factory=RuleConditions)
    actions: RuleActions


@dataclass(frozen=True, slots=True)
class StoredRule:
    """A rule as stored: its id and version (bumped on every change) with its spec."""

    id: str
    version: int
    spec: RuleSpec
