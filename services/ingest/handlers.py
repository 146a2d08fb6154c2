"""Ingest's Kafka handlers: the worker side of platform webhooks.

The web tier verified the signature and that the body is JSON, then handed the verified bytes
over through `socialcare.ingest.webhooks`, with what the pipeline needs of the connection. Here
the body is parsed, deduplicated, enriched, stored and turned into interaction events, inside
the consumer runner's transaction (so a redelivered record changes nothing twice). An item the
pipeline cannot take (an account outside the connection, a platform id over `MAX_PLATFORM_ID`)
is counted with the parts not understood (`socialcare_ingest_unknown_parts_total`) and skipped;
the rest of its body is ingested.
"""

from __future__ import annotations

import asyncio

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest import repository
from services.ingest.config import IngestSettings
from services.ingest.models import Connection
from services.ingest.pipeline import (
    Batch,
    ConnectionInfo,
    Job,
    change_from_parsed,
    enrich_changes,
)
from services.ingest.platforms.base import ParseResult, PayloadError, load_payload
from services.ingest.platforms.meta import parse_meta_payload
from services.ingest.platforms.x import parse_x_payload
from services.ingest.service import connections
from shared.bus.consumer import BatchHandler
from shared.events.envelope import Envelope
from shared.events.ingest import WebhookReceived
from shared.events.interactions import MAX_PLATFORM_ID

logger = structlog.get_logger("socialcare.ingest")

PARSERS = {"meta": parse_meta_payload, "x": parse_x_payload}
WEBHOOK_ITEMS = Counter(
    "socialcare_ingest_webhook_items_total",
    "Webhook items by platform and outcome",
    ["platform", "outcome"],
)
UNKNOWN_PARTS = Counter(
    "socialcare_ingest_unknown_parts_total",
    "Webhook parts acknowledged but not understood",
    ["platform", "label"],
)
# Labels are built from payload values (object, field and verb names): past this many distinct
# ones, the rest are counted as "other", so no sender can add label series without bound.
MAX_UNKNOWN_LABELS = 200
_unknown_labels: set[tuple[str, str]] = set()


def count_unknown_part(platform: str, label: str) -> None:
    key = (platform[:20], label[:80])
    if key not in _unknown_labels:
        if len(_unknown_labels) >= MAX_UNKNOWN_LABELS:
            key = (key[0], "other")
        else:
            _unknown_labels.add(key)
    UNKNOWN_PARTS.labels(*key).inc()


def parse_webhook(platform: str, body: str | bytes) -> ParseResult:
    """The platform's parser over a body; raises PayloadError when it is not a JSON object."""
    return PARSERS[platform](load_payload(body))


def _connection_of(
    data: WebhookReceived, stored: dict[str, Connection]
) -> tuple[ConnectionInfo, set[str]] | None:
    """The connection as the web tier saw it when the signature checked (carried in the event),
    else as stored (records written before it was carried); None when it is gone."""
    if data.brand_id is not None and data.account_ids is not None:
        info = ConnectionInfo(
            id=data.connection_id,
            brand_id=data.brand_id,
            platform=data.platform,
            default_lang=data.default_lang,
        )
        return info, set(data.account_ids)
    connection = stored.get(data.connection_id)
    if connection is None:
        return None
    return connections.connection_info(connection), set(connection.account_ids)


def _job_for(
    data: WebhookReceived, stored: dict[str, Connection], retention_days: int
) -> Job | None:
    connection = _connection_of(data, stored)
    if connection is None:
        logger.warning("webhook_for_deleted_connection", connection_id=data.connection_id)
        return None
    info, accounts = connection
    try:
        result = parse_webhook(data.platform, data.body)
    except PayloadError:
        logger.warning("webhook_body_unreadable", connection_id=data.connection_id)
        return None
    changes = []
    for item in result.items:
        overlong = item.overlong_id()
        if overlong is not None:
            # Reported like a part not understood, and skipped: the other items of the body
            # are ingested; the id could be stored nowhere (and would fail the whole poll).
            result.unknown.append(f"{data.platform}.{overlong}.too_long")
            logger.warning(
                "webhook_item_id_too_long",
                connection_id=data.connection_id,
                change_kind=item.change_kind,
                field=overlong,
                limit=MAX_PLATFORM_ID,
            )
            continue
        if item.account_external_id is not None and item.account_external_id not in accounts:
            result.unknown.append(f"{data.platform}.account_not_in_connection")
            continue
        changes.append(change_from_parsed(info, item))
    for label in result.unknown:
        count_unknown_part(data.platform, label)
    enrich_changes(changes)
    return Job(changes=changes, connection=info, raw_body=data.body, retention_days=retention_days)


async def handle_webhooks(
    session: AsyncSession, envelopes: list[Envelope], *, retention_days: int
) -> None:
    """Every webhook of one poll in one pipeline batch (a few statements for all of them).

    The event carries the verified body and what the pipeline needs of the connection, so a
    webhook's connection is loaded once (by the web tier) and its body parsed once here."""
    deliveries = [envelope.data for envelope in envelopes]
    webhooks = [data for data in deliveries if isinstance(data, WebhookReceived)]
    stored = await repository.get_connections(
        session, {data.connection_id for data in webhooks if data.brand_id is None}
    )
    jobs = []
    for data in webhooks:
        job = _job_for(data, stored, retention_days)
        if job is not None:
            jobs.append(job)
        # Enrichment is CPU: let a web tier sharing this process answer between webhooks.
        await asyncio.sleep(0)
    if not jobs:
        return
    results = await Batch(session, jobs).run()
    for job, result in zip(jobs, results, strict=True):
        platform = job.connection.platform if job.connection else "unknown"
        WEBHOOK_ITEMS.labels(platform, "published").inc(result.published)
        WEBHOOK_ITEMS.labels(platform, "duplicate").inc(result.duplicates)


def build_batch_handlers(settings: IngestSettings) -> dict[str, BatchHandler]:
    async def webhooks_received(session: AsyncSession, envelopes: list[Envelope]) -> None:
        await handle_webhooks(session, envelopes, retention_days=settings.raw_retention_days)

    return {"ingest.webhook_received": webhooks_received}
