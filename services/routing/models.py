"""Routing tables, in the `routing` schema."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.bus.tables import define_bus_tables
from shared.db import UtcDateTime, service_metadata

SCHEMA = "routing"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


bus_tables = define_bus_tables(Base.metadata)


class IntentExample(Base):
    """A post labelled with its intent by a person (a member correcting a case's intent).

    One row per brand and text: correcting the same text again replaces its label, so the table
    grows with distinct corrected texts only; deleting a brand's rows is its purge.
    """

    __tablename__ = "intent_examples"
    __table_args__ = (UniqueConstraint("brand_id", "text_sha256"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(100), index=True)
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    intent: Mapped[str] = mapped_column(String(40))
    previous_intent: Mapped[str | None] = mapped_column(String(40), nullable=True)
    lang: Mapped[str | None] = mapped_column(String(8), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(30), nullable=True)
    case_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    labelled_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, server_default=func.now(), onupdate=func.now()
    )
