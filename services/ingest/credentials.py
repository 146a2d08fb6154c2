"""Platform secrets at rest: Fernet (AES-128-CBC + HMAC) with a key derived from settings."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet


class CredentialBox:
    def __init__(self, key_material: str) -> None:
        digest = hashlib.sha256(key_material.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, secrets: dict[str, str]) -> bytes:
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode())

    def open(self, sealed: bytes) -> dict[str, str]:
        data: dict[str, str] = json.loads(self._fernet.decrypt(sealed))
        return data
