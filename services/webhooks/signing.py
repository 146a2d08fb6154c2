"""Standard Webhooks signatures: secrets, and the three headers of every delivery.

Signing goes through the `standardwebhooks` package (the same code integrators verify with),
one `Webhook` per secret kept with the endpoint's snapshot, so a secret is decoded once and not
on every attempt. During a rotation's overlap both secrets sign: `webhook-signature` holds both
signatures, space-separated, and a receiver holding either secret verifies the delivery.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """`whsec_` + base64 of 32 random bytes (the Standard Webhooks shape)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


class SecretBox:
    """Endpoint secrets at rest: Fernet (AES-128-CBC + HMAC) with keys derived from settings.
    The first key seals; every key opens (a key being replaced stays readable until
    `stale` secrets are sealed again with the first)."""

    def __init__(self, key_material: str, *older_key_materials: str) -> None:
        self._keys = [
            Fernet(base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest()))
            for material in (key_material, *older_key_materials)
        ]
        self._fernet = MultiFernet(self._keys)

    def stale(self, sealed: bytes) -> bool:
        """Sealed with an older key (readable, but to be sealed again)."""
        try:
            self._keys[0].decrypt(sealed)
        except InvalidToken:
            return True
        return False

    def reseal(self, sealed: bytes) -> bytes:
        """The same secret sealed with the first key."""
        return self._fernet.rotate(sealed)

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def open(self, sealed: bytes) -> str:
        return self._fernet.decrypt(sealed).decode()

    def seal_text(self, secret: str) -> str:
        """Sealed as text, for a JSON document (a stored answer)."""
        return self.seal(secret).decode()

    def open_text(self, sealed: str) -> str:
        return self.open(sealed.encode())


class Signer:
    """Signs with one or two secrets (the current first)."""

    def __init__(self, *secrets_in_use: str) -> None:
        self._webhooks = [Webhook(secret) for secret in secrets_in_use]

    def headers(self, message_id: str, timestamp: datetime, body: bytes) -> dict[str, str]:
        text = body.decode()
        signature = " ".join(
            webhook.sign(msg_id=message_id, timestamp=timestamp, data=text)
            for webhook in self._webhooks
        )
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": signature,
        }


def event_body(event_type: str, timestamp: datetime, data_json: bytes) -> bytes:
    """The delivered JSON: `{type, timestamp, data}`, RFC 3339 UTC time; `data` is the event's
    payload as its model serialised it (spliced in, not parsed and serialised again)."""
    moment = timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z")
    head = json.dumps({"type": event_type, "timestamp": moment}, separators=(",", ":"))
    return head[:-1].encode() + b',"data":' + data_json + b"}"
