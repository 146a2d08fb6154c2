"""Ideas: collect posts whose intent is feedback_idea, and show them grouped into themes."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.fans.service import may_read_personal_data
from services.kpi.ideas import repository
from services.kpi.ideas.keyphrases import keyphrases
from services.kpi.ideas.models import IdeaItem
from services.kpi.ideas.schemas import IdeaDay, IdeaExample, IdeasRead, IdeaTheme
from services.kpi.ideas.themes import IdeaDoc, Theme, group_themes, trend
from services.kpi.rollups import repository as rollups
from services.kpi.rollups.contributions import IdeaCounted, idea_entries
from services.routing.intents import Intent, IntentPrediction
from shared.auth import Principal
from shared.errors import BadRequestError
from shared.events.interactions import Interaction
from shared.pii import find_pii

MAX_IDEAS = 5000
MAX_WINDOW = timedelta(days=366)
DEFAULT_WINDOW = timedelta(days=30)
EXAMPLES = 3


def mask_personal_data(text: str) -> str:
    """The text with each email, phone, card, IBAN, DNI or NIE replaced by its kind."""
    pieces, last = [], 0
    for match in find_pii(text):
        pieces.append(text[last : match.start])
        pieces.append(f"[{match.kind}]")
        last = match.end
    pieces.append(text[last:])
    return "".join(pieces)


async def collect(
    session: AsyncSession,
    interaction: Interaction,
    prediction: IntentPrediction | None,
    *,
    profile_id: str | None,
    min_confidence: float,
    edited: bool = False,
) -> bool:
    """Keep the interaction if it is an idea (and drop it if an edit made it something else)."""
    is_idea = (
        prediction is not None
        and prediction.intent == Intent.feedback_idea
        and prediction.confidence >= min_confidence
        and not interaction.flags.own_message
    )
    if not is_idea or prediction is None:
        if edited:  # an idea edited into something else is no idea any more
            await forget(session, interaction.id)
        return False
    lang = interaction.lang or prediction.lang
    text = mask_personal_data(interaction.text)
    before = await repository.counted_idea(session, interaction.id)
    await repository.upsert_idea(
        session,
        {
            "interaction_id": interaction.id,
            "brand_id": interaction.brand_id,
            "channel": interaction.channel.value,
            "lang": lang,
            "text": text,
            "author_profile_id": profile_id,
            "sentiment_label": interaction.sentiment.label.value if interaction.sentiment else None,
            "sentiment_score": interaction.sentiment.score if interaction.sentiment else None,
            "confidence": prediction.confidence,
            "phrases": [[phrase.key, phrase.surface] for phrase in keyphrases(text, lang)],
            "created_at": interaction.created_at,
        },
    )
    # "ideas collected" in the rollups (the brand id of a stored idea never changes).
    after = IdeaCounted(
        before.brand_id if before else interaction.brand_id,
        interaction.channel.value,
        interaction.created_at,
    )
    if after != before:
        rollups.pending_delta(session).replace(idea_entries(before), idea_entries(after))
    return True


async def forget(session: AsyncSession, interaction_id: str) -> None:
    removed = await repository.delete_idea(session, interaction_id)
    if removed is not None:
        rollups.pending_delta(session).add(idea_entries(removed), -1)


def window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """[from, to): `to` defaults to now, `from` to 30 days before `to`; at most 366 days."""
    end = end or datetime.now(UTC)
    try:
        start = start or end - DEFAULT_WINDOW
    except OverflowError as exc:  # `to` in year 1
        raise BadRequestError("`to` is too early", field="to", reason="out_of_range") from exc
    if end <= start:
        raise BadRequestError("`to` must be after `from`", field="to", reason="empty_window")
    if end - start > MAX_WINDOW:
        raise BadRequestError(
            "the window is longer than 366 days", field="to", reason="window_too_long"
        )
    return start, end


async def themes(
    session: AsyncSession,
    principal: Principal,
    *,
    brand_id: str,
    start: datetime | None,
    end: datetime | None,
) -> IdeasRead:
    start, end = window(start, end)
    rows = list(
        await repository.ideas_between(
            session,
            brand_id=brand_id,
            brands=principal.brands,
            start=start,
            end=end,
            limit=MAX_IDEAS + 1,
        )
    )
    truncated = len(rows) > MAX_IDEAS
    rows = rows[:MAX_IDEAS]
    by_id = {row.interaction_id: row for row in rows}
    docs = [
        IdeaDoc(
            row.interaction_id,
            row.created_at,
            {str(key): str(surface) for key, surface in row.phrases},
        )
        for row in rows
    ]
    # Grouping is CPU: off the event loop, so other requests are answered meanwhile.
    grouped = await asyncio.to_thread(group_themes, docs)
    personal = may_read_personal_data(principal)
    handles: dict[str, str | None] = {}
    if personal:
        wanted = {
            by_id[doc.id].author_profile_id
            for theme in grouped
            for doc in _examples(theme)
            if by_id[doc.id].author_profile_id
        }
        handles = await repository.handles(session, {item for item in wanted if item})
    middle = start + (end - start) / 2
    return IdeasRead(
        brand_id=brand_id,
        start=start,
        end=end,
        total=len(rows),
        truncated=truncated,
        themes=[
            _theme_read(theme, by_id, len(rows), middle, handles, personal) for theme in grouped
        ],
    )


def _examples(theme: Theme) -> list[IdeaDoc]:
    return sorted(theme.ideas, key=lambda doc: (doc.created_at, doc.id), reverse=True)[:EXAMPLES]


def _theme_read(
    theme: Theme,
    by_id: dict[str, IdeaItem],
    total: int,
    middle: datetime,
    handles: dict[str, str | None],
    personal: bool,
) -> IdeaTheme:
    items = [by_id[doc.id] for doc in theme.ideas]
    first = sum(1 for item in items if item.created_at < middle)
    second = len(items) - first
    daily = Counter(item.created_at.date() for item in items)
    examples = []
    for doc in _examples(theme):
        item = by_id[doc.id]
        examples.append(
            IdeaExample(
                interaction_id=item.interaction_id,
                text=item.text,
                channel=item.channel,
                lang=item.lang,
                sentiment=item.sentiment_label,
                created_at=item.created_at,
                fan_id=item.author_profile_id,
                author_handle=handles.get(item.author_profile_id or "") if personal else None,
            )
        )
    return IdeaTheme(
        label=theme.label,
        key=theme.key,
        count=len(items),
        share=round(len(items) / total, 4) if total else 0.0,
        languages=dict(Counter(item.lang or "und" for item in items).most_common()),
        channels=dict(Counter(item.channel for item in items).most_common()),
        positive=sum(1 for item in items if item.sentiment_label == "positive"),
        negative=sum(1 for item in items if item.sentiment_label == "negative"),
        trend=trend(first, second),
        first_half=first,
        second_half=second,
        daily=[IdeaDay(day=day, count=count) for day, count in sorted(daily.items())],
        related=theme.related,
        examples=examples,
    )
