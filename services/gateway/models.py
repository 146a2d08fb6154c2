"""Gateway tables: API keys, stored hashed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime, service_metadata

SCHEMA = "gateway"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # First characters of the key, shown in listings so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    departments: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # Brand ids the key is limited to; NULL = every brand.
    brands: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # The team member (routing's member id, and its brand) a personal key acts as; NULL for a
    # system key. Routing checks the member when it matters (a reply's author).
    member_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    member_brand_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
