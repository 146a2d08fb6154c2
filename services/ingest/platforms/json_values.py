"""Readers for untrusted JSON values: they return None instead of raising.

Webhook bodies come from outside; every field may be missing, null or of another type than the
documentation says. The parsers read them only through these functions so that a surprising
value degrades to "unknown" instead of an exception.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events.interactions import MAX_COUNT

# Above this a numeric timestamp is read as milliseconds (1e11 seconds is the year 5138).
_MILLISECONDS_THRESHOLD = 100_000_000_000
_LABEL_PART = re.compile(r"[^a-z0-9_.]+")
_TWITTER_DATE_FORMAT = "%a %b %d %H:%M:%S %z %Y"
# Platform times outside this window are not believed (None: the pipeline uses received_at):
# no social platform predates 2000, and a clock more than a day ahead is wrong.
EARLIEST_PLATFORM_TIME = datetime(2000, 1, 1, tzinfo=UTC)
PLATFORM_CLOCK_SKEW = timedelta(days=1)
# U+0000 and lone surrogates: valid in a decoded str, storable in neither PostgreSQL nor UTF-8.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def as_object(value: object) -> dict[str, Any] | None:
    """The value if it is a JSON object with string keys, else None."""
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return value
    return None


def as_object_list(value: object) -> list[dict[str, Any]]:
    """The JSON objects of a list; anything else (or a non-list) gives an empty list."""
    if not isinstance(value, list):
        return []
    return [item for item in (as_object(element) for element in value) if item is not None]


def as_id(value: object) -> str | None:
    """A platform id as a string: ids arrive as strings or (older payloads) as integers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        stripped = storable(value).strip()
        return stripped or None
    return None


def storable(text: str) -> str:
    """`text` without U+0000, lone surrogates replaced by U+FFFD (a message is kept, not lost
    for one odd character)."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda match: "" if match.group() == "\x00" else "\ufffd", text)


def as_text(value: object) -> str | None:
    """A string value, else None (numbers are not silently turned into text)."""
    return storable(value) if isinstance(value, str) else None


def as_count(value: object) -> int | None:
    """A non-negative counter; X also sends counters as numeric strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_COUNT else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def is_true(value: object) -> bool:
    """True only for JSON true or the string "true" (X sends booleans as strings at times)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def parse_timestamp(value: object) -> datetime | None:
    """An aware UTC datetime from unix seconds or milliseconds, ISO 8601 or X's legacy format.

    Returns None when the value is missing or cannot be read, so callers can fall back.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    if text.isdigit():
        return _from_epoch(float(text))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.strptime(text, _TWITTER_DATE_FORMAT)
        except ValueError:
            return None
    if parsed.tzinfo is None:
        # Platforms document UTC; a naive value is read as UTC rather than local time.
        return plausible(parsed.replace(tzinfo=UTC))
    try:
        return plausible(parsed.astimezone(UTC))
    except (OverflowError, ValueError):
        return None


def plausible(moment: datetime) -> datetime | None:
    """`moment` when it lies between 2000 and a day from now, else None."""
    if EARLIEST_PLATFORM_TIME <= moment <= datetime.now(UTC) + PLATFORM_CLOCK_SKEW:
        return moment
    return None


def _from_epoch(number: float) -> datetime | None:
    if not math.isfinite(number) or number < 0:
        return None
    if number >= _MILLISECONDS_THRESHOLD:
        number /= 1000
    try:
        return plausible(datetime.fromtimestamp(number, tz=UTC))
    except (OverflowError, OSError, ValueError):
        return None


def epoch_milliseconds(moment: datetime | None) -> str:
    """A compact, stable representation of a moment for dedupe keys ("" when unknown)."""
    return "" if moment is None else str(int(moment.timestamp() * 1000))


def unknown_label(*parts: object) -> str:
    """A bounded, metric-safe label such as "page.feed.event.add" for something not understood.

    Values come from the payload, so each part is lower-cased, reduced to [a-z0-9_.] and cut
    short: a hostile sender must not be able to create unbounded metric label values.
    """
    cleaned: list[str] = []
    for part in parts:
        if isinstance(part, str):
            text = _LABEL_PART.sub("_", part.lower()).strip("_.")[:32]
        elif part is None:
            text = "none"
        else:
            text = type(part).__name__.lower()
        cleaned.append(text or "empty")
    return ".".join(cleaned)


def nested(value: object, *path: str) -> object:
    """The value at a path of object keys, or None as soon as a step is not an object."""
    current: object = value
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current
