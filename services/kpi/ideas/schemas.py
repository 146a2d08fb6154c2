"""HTTP models of the ideas."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class IdeaExample(BaseModel):
    interaction_id: str
    text: str = Field(description="Personal data found in the text is masked")
    channel: str
    lang: str | None
    sentiment: str | None
    created_at: datetime
    fan_id: str | None = Field(description="The author's fan profile, for GET /v1/fans/{id}")
    author_handle: str | None = Field(
        default=None, description="Only for keys that may read interactions"
    )


class IdeaDay(BaseModel):
    day: date
    count: int


class IdeaTheme(BaseModel):
    label: str = Field(description='The shared phrase as people wrote it; "" for other ideas')
    key: str = Field(description="Its stems (stable across wordings)")
    count: int
    share: float = Field(description="Of the ideas in the window")
    languages: dict[str, int]
    channels: dict[str, int]
    positive: int
    negative: int
    trend: str = Field(description="rising | falling | steady: second half of the window vs first")
    first_half: int
    second_half: int
    daily: list[IdeaDay]
    related: list[str] = Field(description="Other phrases frequent in the theme")
    examples: list[IdeaExample]


class IdeasRead(BaseModel):
    brand_id: str
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    total: int
    truncated: bool = Field(description="More ideas than the limit: the newest were grouped")
    themes: list[IdeaTheme]
