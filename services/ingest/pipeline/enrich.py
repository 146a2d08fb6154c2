"""Enrichment of changes before they are written: language, sentiment and PII."""

from __future__ import annotations

from services.ingest.enrichment import enrich
from services.ingest.pipeline.changes import Change
from shared.pii import find_pii


def enrich_changes(changes: list[Change]) -> None:
    """Language, sentiment and PII of new and edited texts. Runs in the request handler (or
    the worker), so the writer's batch, which every waiting request shares, holds only
    database work."""
    for change in changes:
        text = change.item.text
        if change.item.change not in ("received", "updated") or not text.strip():
            continue
        enrichment = enrich(text, default_lang=change.lang or change.default_lang)
        change.lang = change.lang or enrichment.lang
        change.sentiment = enrichment.sentiment
        change.pii = bool(find_pii(text))
