"""The interpreter's settings for a long-running service, applied once start-up is done.

A busy consumer allocates a poll's worth of objects (records, envelopes, ORM rows, event
payloads) and drops them a moment later; nearly all of it goes by reference counting, and what
the garbage collector does is walk what is still alive. Three settings make a consumer cheaper
without giving the collector up:

- `gc.freeze()` moves what start-up built (modules, the ORM's and pydantic's tables, models
  loaded into memory) into the permanent generation, which no collection walks again.
- the oldest generation is collected after 100 collections of the middle one rather than 10
  (CPython also waits until the objects pending there reach a quarter of those long-lived):
  with the start-up objects frozen, the long-lived set is small, so at the default a full
  collection ran every few polls and walked every poll-scoped object still in flight (pending
  sends, prefetched records). `bench/routing.py` measured the full collections at about 0.8 s
  per 20,000 routed interactions at the default and under 0.1 s at this setting.
- the GIL switch interval is 0.5 ms rather than 5 ms: a consumer parses its next poll in a
  thread while the event loop runs the previous poll's transaction (shared/bus/consumer.py),
  and each reply of PostgreSQL or Kafka waited up to 5 ms for the loop to get the GIL back, so
  the transaction and the parse took turns instead of overlapping (bench/kpi.py).

The young generation's threshold is the service's choice: kpi's fact consumer holds two polls
of a thousand events alive (about 30 tracked objects per event), so at CPython's 700 a young
collection ran every 20 events and found no garbage; it collects once 100,000 more objects are
alive. Routing's intake keeps the default: there, a larger threshold only made each walk
longer, as a poll's objects are still alive when it runs. Cyclic garbage is still collected,
only later.
"""

from __future__ import annotations

import gc
import sys

# CPython's defaults are (700, 10, 10) and 5 ms.
YOUNG_THRESHOLD = 700
MIDDLE_THRESHOLD = 10
OLD_THRESHOLD = 100
SWITCH_INTERVAL_SECONDS = 0.0005


def tune_interpreter(young_threshold: int = YOUNG_THRESHOLD) -> None:
    """Collect once, freeze what survives, set the collector's thresholds and the GIL switch
    interval: call when start-up is done. A process that starts several apps (a test run)
    collects before its first freeze only: a full collection of a large heap takes a while."""
    if gc.get_freeze_count() == 0:
        gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
