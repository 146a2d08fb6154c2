"""Fact rows as the fold merges them in memory before writing them back in bulk (plain
dataclasses: building and comparing a thousand per poll costs far less than mapped objects)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any


@dataclass(slots=True)
class InteractionRow:
    """The columns of `interaction_facts`."""

    id: str
    brand_id: str
    channel: str
    thread_key: str = ""
    kind: str | None = None
    lang: str | None = None
    sentiment_label: str | None = None
    sentiment_score: float | None = None
    author_external_id: str | None = None
    author_followers: int | None = None
    own_message: bool = False
    created_at: datetime | None = None
    version_at: datetime | None = None
    version_id: str | None = None
    deleted_at: datetime | None = None


INTERACTION_COLUMNS = tuple(field.name for field in fields(InteractionRow))


_VALUES = attrgetter(*INTERACTION_COLUMNS)


def as_tuple(row: InteractionRow) -> tuple[Any, ...]:
    """The row's values in INTERACTION_COLUMNS order."""
    values: tuple[Any, ...] = _VALUES(row)
    return values
