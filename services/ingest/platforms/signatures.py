"""Webhook authenticity checks of Meta (Facebook, Instagram, WhatsApp) and X.

Every comparison goes through `hmac.compare_digest` so timing does not leak how much of a
signature matched. Checks take several secrets: during a rotation both the old and the new
secret are valid until every sender uses the new one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping

Secrets = str | bytes | Iterable[str | bytes]

META_SIGNATURE_HEADER = "X-Hub-Signature-256"
X_SIGNATURE_HEADER = "x-twitter-webhooks-signature"
_SHA256_PREFIX = "sha256="


def _secret_list(secrets: Secrets) -> list[bytes]:
    # A lone string is one secret, not an iterable of one-character secrets.
    candidates: Iterable[str | bytes] = [secrets] if isinstance(secrets, str | bytes) else secrets
    keys: list[bytes] = []
    for secret in candidates:
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        # An empty key would make signatures computable by anyone.
        if key:
            keys.append(key)
    return keys


def _single_key(secret: str | bytes) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not key:
        raise ValueError("an empty secret cannot sign anything")
    return key


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def meta_signature(raw_body: bytes | str, app_secret: str | bytes) -> str:
    """The `X-Hub-Signature-256` value Meta sends: "sha256=" + hex HMAC-SHA256 of the body."""
    digest = hmac.new(_single_key(app_secret), _as_bytes(raw_body), hashlib.sha256)
    return _SHA256_PREFIX + digest.hexdigest()


def verify_meta_signature(
    raw_body: bytes | str, signature_header: str | None, app_secrets: Secrets
) -> bool:
    """Whether `X-Hub-Signature-256` matches the raw body under any of the app secrets."""
    if not signature_header or not signature_header.startswith(_SHA256_PREFIX):
        return False
    try:
        # Hex digits are case-insensitive; Meta sends lowercase.
        received = bytes.fromhex(signature_header[len(_SHA256_PREFIX) :].strip())
    except ValueError:
        return False
    body = _as_bytes(raw_body)
    matched = False
    for key in _secret_list(app_secrets):
        # No early exit: every secret is tried so timing does not reveal which one matched.
        matched |= hmac.compare_digest(hmac.digest(key, body, "sha256"), received)
    return matched


def meta_verification_challenge(
    query_params: Mapping[str, str], verify_tokens: Secrets
) -> str | None:
    """The `hub.challenge` to echo for Meta's GET subscription handshake, or None to refuse.

    Meta calls the callback URL with hub.mode=subscribe, hub.verify_token (the token configured
    in the app dashboard) and hub.challenge; answering the challenge confirms the subscription.
    """
    if query_params.get("hub.mode") != "subscribe":
        return None
    challenge = query_params.get("hub.challenge")
    received = query_params.get("hub.verify_token")
    if not challenge or not received:
        return None
    received_bytes = received.encode("utf-8")
    matched = False
    for token in _secret_list(verify_tokens):
        matched |= hmac.compare_digest(token, received_bytes)
    return challenge if matched else None


def x_signature(message: bytes | str, secret: str | bytes) -> str:
    """X's "sha256=" + base64 HMAC-SHA256 of a message (CRC token or raw body)."""
    digest = _hmac_sha256(_single_key(secret), _as_bytes(message))
    return _SHA256_PREFIX + base64.b64encode(digest).decode("ascii")


# What X sends as `crc_token`: an opaque random string in the base64 / base64url alphabet (X
# does not document more). The CRC answer is an HMAC of the token under the same key as POST
# signatures, so whatever token is answered is a valid signature for a body equal to it: only
# tokens of this shape are answered, and none of them is a JSON object (no '{', quote, space),
# the only body the webhook POST accepts.
X_CRC_TOKEN = re.compile(r"[A-Za-z0-9+/_=-]{1,256}")


def valid_x_crc_token(crc_token: str) -> bool:
    """Whether `crc_token` has the shape of a token X sends (see `X_CRC_TOKEN`)."""
    return X_CRC_TOKEN.fullmatch(crc_token) is not None


def x_crc_response_token(crc_token: str, consumer_secret: str | bytes) -> str:
    """The `response_token` answering X's CRC GET: "sha256=" + base64 HMAC(secret, crc_token).

    Answer with JSON `{"response_token": ...}`. Account Activity API apps key it with the
    consumer secret (API secret key); pass the key the X app is configured with. Raises
    ValueError for a token X would not send (`valid_x_crc_token`): answering it would sign
    a body of the caller's choice.
    """
    if not valid_x_crc_token(crc_token):
        raise ValueError("not a crc_token X sends")
    return x_signature(crc_token, consumer_secret)


def verify_x_signature(
    raw_body: bytes | str, signature_header: str | None, secrets: Secrets
) -> bool:
    """Whether `x-twitter-webhooks-signature` matches the raw body under any given secret.

    X documents the consumer secret as the key for both CRC and POST signatures. The X
    Activity API delivers through the same v2 webhooks with the same header format; apps that
    are set up with an OAuth 2.0 client secret pass it here too (alongside the consumer secret
    during a migration), since the format is identical and only the key differs.
    """
    if not signature_header or not signature_header.startswith(_SHA256_PREFIX):
        return False
    received = signature_header.strip().encode("utf-8")
    body = _as_bytes(raw_body)
    matched = False
    for key in _secret_list(secrets):
        expected = (
            _SHA256_PREFIX + base64.b64encode(_hmac_sha256(key, body)).decode("ascii")
        ).encode("ascii")
        matched |= hmac.compare_digest(expected, received)
    return matched
