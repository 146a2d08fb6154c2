"""Fan tables: people (one or more linked profiles), profiles per channel, their interactions
and cases. Author handles and names are personal data: kept for the fan's profile, shown only
to keys that may read interactions, and forgotten with the fan after the retention."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.kpi.models import Base
from shared.db import UtcDateTime


class FanPerson(Base):
    """What the brand knows of one person across the profiles linked to them (the list rows)."""

    __tablename__ = "fan_people"
    __table_args__ = (
        Index("ix_fan_people_brand_influence", "brand_id", "influence", "id"),
        Index("ix_fan_people_brand_advocacy", "brand_id", "advocacy", "id"),
        Index("ix_fan_people_brand_detraction", "brand_id", "detraction", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    merged_into: Mapped[str | None] = mapped_column(String(36), nullable=True)
    followers: Mapped[int] = mapped_column(BigInteger, default=0)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    interactions: Mapped[int] = mapped_column(Integer, default=0)
    positive: Mapped[int] = mapped_column(Integer, default=0)
    neutral: Mapped[int] = mapped_column(Integer, default=0)
    negative: Mapped[int] = mapped_column(Integer, default=0)
    sentiment_sum: Mapped[float] = mapped_column(Float, default=0.0)
    likes: Mapped[int] = mapped_column(BigInteger, default=0)
    comments: Mapped[int] = mapped_column(BigInteger, default=0)
    shares: Mapped[int] = mapped_column(BigInteger, default=0)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    cases: Mapped[int] = mapped_column(Integer, default=0)
    hr_cases: Mapped[int] = mapped_column(Integer, default=0)
    # Every case of the person is HR's: the person is hidden from keys that may not see HR.
    hr_only: Mapped[bool] = mapped_column(Boolean, default=False)
    influence: Mapped[float] = mapped_column(Float, default=0.0)
    advocacy: Mapped[float] = mapped_column(Float, default=0.0)
    detraction: Mapped[float] = mapped_column(Float, default=0.0)
    advocate: Mapped[bool] = mapped_column(Boolean, default=False)
    detractor: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_contact_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class FanProfile(Base):
    """One author on one channel of a brand."""

    __tablename__ = "fan_profiles"
    __table_args__ = (UniqueConstraint("brand_id", "channel", "author_external_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(30))
    author_external_id: Mapped[str] = mapped_column(String(200))
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    handle: Mapped[str | None] = mapped_column(String(200), nullable=True)
    display_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    followers: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_contact_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class FanInteraction(Base):
    """One interaction of a profile: what the counts and the sentiment history add up."""

    __tablename__ = "fan_interactions"

    interaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    profile_id: Mapped[str] = mapped_column(String(36))
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    channel: Mapped[str] = mapped_column(String(30))
    sentiment_label: Mapped[str | None] = mapped_column(String(10), nullable=True)
    sentiment_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    likes: Mapped[int] = mapped_column(BigInteger, default=0)
    comments: Mapped[int] = mapped_column(BigInteger, default=0)
    shares: Mapped[int] = mapped_column(BigInteger, default=0)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class FanCase(Base):
    """The latest known state of a case opened by one of a profile's messages."""

    __tablename__ = "fan_cases"

    case_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    profile_id: Mapped[str] = mapped_column(String(36))
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    channel: Mapped[str] = mapped_column(String(30))
    department: Mapped[str | None] = mapped_column(String(60), nullable=True)
    intent: Mapped[str | None] = mapped_column(String(40), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FanEngagement(Base):
    """One engagement record on a fan's post (`engagement.recorded` naming the interaction):
    likes, comments, shares and views that came after the post, added to the fan's counts
    and influence. Keyed by the event, so a redelivered record counts once; a removal
    (kind `*.removed`) is stored negative."""

    __tablename__ = "fan_engagement"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100))
    interaction_id: Mapped[str] = mapped_column(String(64), index=True)
    likes: Mapped[int] = mapped_column(BigInteger, default=0)
    comments: Mapped[int] = mapped_column(BigInteger, default=0)
    shares: Mapped[int] = mapped_column(BigInteger, default=0)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
