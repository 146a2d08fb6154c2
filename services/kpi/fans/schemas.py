"""HTTP models of the fans."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.limits import InputModel
from shared.pagination import CursorPage


class FanSort(StrEnum):
    influence = "influence"
    advocacy = "advocacy"
    detraction = "detraction"


class FanProfileRead(BaseModel):
    id: str
    channel: str
    # Personal data: null unless the key may read interactions (interactions:read).
    author_external_id: str | None = None
    handle: str | None = None
    display_name: str | None = None
    followers: int | None
    verified: bool
    first_seen_at: datetime
    last_contact_at: datetime


class SentimentCounts(BaseModel):
    positive: int
    neutral: int
    negative: int
    mean_score: float | None = Field(description="Mean sentiment score, -1..1")


class FanRead(BaseModel):
    id: str
    brand_id: str
    channels: list[str]
    profiles: list[FanProfileRead]
    followers: int = Field(description="The largest follower count of the linked profiles")
    verified: bool
    interactions: int
    sentiment: SentimentCounts
    likes: int
    comments: int
    shares: int
    views: int
    cases: int
    influence: float
    advocacy: float
    detraction: float
    advocate: bool = Field(description="Repeatedly positive with reach: a candidate ambassador")
    detractor: bool = Field(description="Repeatedly negative with reach")
    first_seen_at: datetime
    last_contact_at: datetime


class FanPage(CursorPage[FanRead]):
    pass


class SentimentDay(BaseModel):
    day: date
    positive: int
    neutral: int
    negative: int
    mean_score: float | None


class FanCaseRead(BaseModel):
    case_id: str
    channel: str
    department: str | None
    intent: str | None
    status: str
    opened_at: datetime
    resolved_at: datetime | None


class CaseOutcomes(BaseModel):
    open: int = 0
    pending: int = 0
    resolved: int = 0
    closed: int = 0


class FanDetail(FanRead):
    sentiment_history: list[SentimentDay] = Field(
        description="Per day, over the fan's latest interactions (up to 500)"
    )
    recent_cases: list[FanCaseRead] = Field(description="Latest cases (HR's only for HR keys)")
    case_outcomes: CaseOutcomes


class FanLinkCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"fan_id": "0f0c5b1e-8d52-5d0b-9a3e-2b7f4c1d9e60"}]}
    )

    fan_id: str = Field(
        min_length=1, max_length=36, description="The fan to link into this one (same brand)"
    )
