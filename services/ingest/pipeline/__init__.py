"""The ingest pipeline: deduplicate → normalise → store → stage events → archive, in bulk.

- `changes`: `Change`, a parser's `ParsedItem` (or a REST item as one) and what ingest adds to
  it (brand, connection, dedupe key, enrichment): one record from parser to row.
- `enrich`: language, sentiment and PII of the changes, before the shared transaction.
- `batch`: `Batch` runs many jobs (each a list of changes, with the raw body when it came from a
  platform) in the caller's transaction with a fixed number of statements (queries in
  `repository.py`). The `ingest-webhooks` consumer (handlers.py) runs every webhook of one poll
  in one batch, inside the consumer runner's transaction.
- `writer`: `GroupCommitWriter`, which batches the concurrent requests of the REST intake.
"""

from services.ingest.pipeline.batch import SOURCE, Batch, ItemStatus, Job, JobResult
from services.ingest.pipeline.changes import (
    Change,
    ConnectionInfo,
    IncompleteChangeError,
    change_from_parsed,
    change_from_rest,
)
from services.ingest.pipeline.enrich import enrich_changes
from services.ingest.pipeline.writer import GroupCommitWriter
from services.ingest.repository import DELIVERY_KEYS

__all__ = [
    "DELIVERY_KEYS",
    "SOURCE",
    "Batch",
    "Change",
    "ConnectionInfo",
    "GroupCommitWriter",
    "IncompleteChangeError",
    "ItemStatus",
    "Job",
    "JobResult",
    "change_from_parsed",
    "change_from_rest",
    "enrich_changes",
]
