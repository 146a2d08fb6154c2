"""Ingest's platform layer: webhook signature checks and payload parsers (pure functions).

Nothing here touches HTTP, Kafka or the database: routes verify a signature with
`signatures`, decode the body with `load_payload`, and hand the dict to the parser of the
platform whose endpoint received it.
"""

from .base import ChangeType, ParsedItem, ParseResult, PayloadError, load_payload
from .meta import parse_meta_payload
from .whatsapp import parse_whatsapp_payload
from .x import parse_x_payload

__all__ = [
    "ChangeType",
    "ParseResult",
    "ParsedItem",
    "PayloadError",
    "load_payload",
    "parse_meta_payload",
    "parse_whatsapp_payload",
    "parse_x_payload",
]
