"""One change on its way from a platform parser (or the REST intake) to a row and an event.

The parser's `ParsedItem` travels as it is: `Change` holds it and adds only what ingest knows
and the parser does not (whose it is, its dedupe namespace, what enrichment found). Nothing is
copied field by field into a second record, so nothing a parser reads is lost on the way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC

from services.ingest.models import MAX_DEDUPE_KEY
from services.ingest.platforms.base import ParsedItem
from services.ingest.schemas import InteractionIn
from shared.events.interactions import Sentiment


class IncompleteChangeError(ValueError):
    """A change is missing what its kind of change needs (a bug upstream, never client input)."""


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """What the pipeline needs of a connection (no secrets)."""

    id: str
    brand_id: str
    platform: str
    default_lang: str | None


@dataclass(slots=True)
class Change:
    """A parsed item and what ingest adds to it, whatever channel or intake it came from."""

    item: ParsedItem
    source: str  # dedupe namespace: the connection id, or rest:<brand>:<channel>
    dedupe_key: str
    brand_id: str
    connection_id: str | None
    # Platforms say "received" again for items we hold (a mention, then the comment): that is
    # a duplicate. A REST item with new content under a known id is an update.
    from_platform: bool
    lang: str | None = None  # the sender's (REST), else what enrichment detected
    default_lang: str | None = None  # the connection's, when detection cannot tell
    # Set by `enrich_changes` in the request, outside the writer's critical section.
    sentiment: Sentiment | None = None
    pii: bool = False

    @property
    def delivery_key(self) -> tuple[str, str, str]:
        """What a delivery is deduplicated on: (source, external id, dedupe key)."""
        return (self.source, self.item.external_id, self.dedupe_key)


def bounded_dedupe_key(key: str) -> str:
    """`key` when it fits its column (`MAX_DEDUPE_KEY`), else its change kind and a digest of
    it: discriminators are built from platform ids (an author's, a post's), and two of them
    may pass the column's length together even when each id fits its own."""
    if len(key) <= MAX_DEDUPE_KEY:
        return key
    # The digest is of the whole key, so keys stay distinct; the change kind before it (the
    # parsers' vocabulary is under 40 characters) keeps the row readable.
    change_kind = key.split(":", 1)[0][:40]
    return f"{change_kind}:sha256-{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def change_from_parsed(connection: ConnectionInfo, item: ParsedItem) -> Change:
    return Change(
        item=item,
        source=connection.id,
        dedupe_key=bounded_dedupe_key(item.dedupe_key),
        brand_id=connection.brand_id,
        connection_id=connection.id,
        from_platform=True,
        default_lang=connection.default_lang,
    )


def change_from_rest(item: InteractionIn) -> Change:
    """REST items dedupe on their full content: the same item again is a duplicate, the same
    external id with other content is an update."""
    digest = hashlib.sha256(item.model_dump_json().encode()).hexdigest()[:32]
    parsed = ParsedItem(
        change="received",
        change_kind="rest.item",
        channel=item.channel,
        account_external_id=None,
        external_id=item.external_id,
        thread_external_id=item.thread_external_id or item.external_id,
        kind=item.kind,
        parent_external_id=item.parent_external_id,
        url=item.url,
        author=item.author,
        text=item.text,
        created_at=item.created_at.astimezone(UTC),
        metrics=item.metrics,
    )
    return Change(
        item=parsed,
        source=f"rest:{item.brand_id}:{item.channel.value}",
        dedupe_key=digest,
        brand_id=item.brand_id,
        connection_id=item.connection_id,
        from_platform=False,
        lang=item.lang,
    )
