"""Ingest's platform layer: webhook signature checks and payload parsers (pure functions).

Nothing here touches HTTP, Kafka or the database: routes verify a signature with
`signatures`, decode the body with `load_payload`, and hand the dict to the parser of the
platform whose endpoint received it.
"""

from .base import ChangeType, ParsedItem, ParseResult, PayloadError, load_payload
from .meta import parse_meta_payload
from .signatures import (
    meta_verification_challenge,
    verify_meta_signature,
    verify_x_signature,
    x_crc_response_token,
)
from .whatsapp import parse_whatsapp_payload
from .x import parse_x_payload

__all__ = [
    "ChangeType",
    "ParseResult",
    "ParsedItem",
    "PayloadError",
    "load_payload",
    "meta_verification_challenge",
    "parse_meta_payload",
    "parse_whatsapp_payload",
    "parse_x_payload",
    "verify_meta_signature",
    "verify_x_signature",
    "x_crc_response_token",
]
