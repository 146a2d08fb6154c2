"""Cursor pagination, one shape for every list: `{"items": [...], "next_cursor": "..."}`.

A list asks its repository for `fetch_size(limit)` rows (one more than the page); the extra row
only says whether there is a next page. `CursorPage.from_rows` turns those rows into the page,
its items and the cursor of the last item kept. Each list declares its own subclass
(`class ApiKeyPage(CursorPage[ApiKeyRead])`) so its OpenAPI schema keeps a readable name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, Self, TypeVar

from pydantic import BaseModel

ItemT = TypeVar("ItemT")
RowT = TypeVar("RowT")


def fetch_size(limit: int) -> int:
    """How many rows to fetch for a page of `limit` items: one more, to know if there is a next."""
    return limit + 1


class CursorPage(BaseModel, Generic[ItemT]):
    """One page of a list; `next_cursor` is null on the last page."""

    items: list[ItemT]
    next_cursor: str | None = None

    @classmethod
    def from_rows(
        cls,
        rows: Sequence[RowT],
        limit: int,
        *,
        item: Callable[[RowT], ItemT],
        cursor: Callable[[RowT], str],
    ) -> Self:
        """The page from rows fetched with `fetch_size(limit)`: at most `limit` items, and the
        cursor of the last one kept when more rows were found."""
        kept = rows[:limit]
        more = len(rows) > limit and bool(kept)
        return cls(
            items=[item(row) for row in kept], next_cursor=cursor(kept[-1]) if more else None
        )
