"""Every query of routing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.models import IntentExample


async def upsert_intent_example(session: AsyncSession, values: dict[str, Any]) -> IntentExample:
    """Insert the example, or replace the label of the brand's example with the same text."""
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    statement = insert(IntentExample).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[IntentExample.brand_id, IntentExample.text_sha256],
        set_={
            "intent": statement.excluded.intent,
            "previous_intent": statement.excluded.previous_intent,
            "lang": statement.excluded.lang,
            "channel": statement.excluded.channel,
            "case_id": statement.excluded.case_id,
            "labelled_by": statement.excluded.labelled_by,
            "updated_at": func.now(),
        },
    )
    await session.execute(statement)
    example: IntentExample = (
        await session.scalars(
            select(IntentExample)
            .where(
                IntentExample.brand_id == values["brand_id"],
                IntentExample.text_sha256 == values["text_sha256"],
            )
            .execution_options(populate_existing=True)
        )
    ).one()
    return example


async def list_intent_examples(
    session: AsyncSession, brand_id: str, *, limit: int, after: tuple[datetime, str] | None = None
) -> list[IntentExample]:
    query = (
        select(IntentExample)
        .where(IntentExample.brand_id == brand_id)
        .order_by(IntentExample.created_at, IntentExample.id)
        .limit(limit)
    )
    if after is not None:
        created_at, example_id = after
        query = query.where(
            (IntentExample.created_at > created_at)
            | ((IntentExample.created_at == created_at) & (IntentExample.id > example_id))
        )
    return list((await session.scalars(query)).all())
