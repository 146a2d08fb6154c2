"""The garbage collector's settings for a long-running service, applied once start-up is done.

A busy consumer allocates a poll's worth of objects (records, envelopes, ORM rows, event
payloads) and drops them a moment later; nearly all of it goes by reference counting, and what
the collector does is walk what is still alive. Two things make that walk cheaper without
giving up the collector:

- `gc.freeze()` moves what start-up built (modules, the ORM's and pydantic's tables, models
  loaded into memory) into the permanent generation, which no collection walks again.
- the oldest generation is collected after 100 collections of the middle one rather than 10
  (CPython also waits until the objects pending there reach a quarter of those long-lived):
  with the start-up objects frozen, the long-lived set is small, so at the default a full
  collection ran every few polls and walked every poll-scoped object still in flight (pending
  sends, prefetched records). `bench/routing.py` measured the full collections at about 0.8 s
  per 20,000 routed interactions at the default and under 0.1 s at this setting; the youngest
  generations keep their defaults (a larger first threshold only made each walk longer, as a
  poll's objects are still alive when it runs).

Cyclic garbage is still collected, only later; the first two generations run as before.
"""

from __future__ import annotations

import gc

# The default thresholds are (700, 10, 10).
THRESHOLDS = (700, 10, 100)


def freeze_startup_objects() -> None:
    """Collect once, freeze what survives and set `THRESHOLDS`: call when start-up is done."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
