"""Contact points' URLs and secrets, sealed at rest (AES-GCM).

A robot webhook's URL carries its access token, and a signing secret lets anyone post as the
node: a copy of the database alone must not give them away. The key lives outside the database,
in a file (a mounted Secret, shared by the node's replicas), or one generated under data_dir on
first use.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from regional_node.alerts.errors import SealingUnavailable

NONCE_BYTES = 12


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise SealingUnavailable("the alert secrets key must hold at least 32 bytes")
        self._aead = AESGCM(key[:32])

    @classmethod
    def from_file(cls, path: Path, *, create: bool) -> Sealer:
        """The key in `path` (base64); created there (mode 0600) when `create` and missing."""
        if not path.exists() and create:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
        try:
            key = base64.b64decode(path.read_text().strip(), validate=True)
        except (OSError, binascii.Error, ValueError) as exc:
            raise SealingUnavailable(f"cannot read the alert secrets key in {path}") from exc
        return cls(key)

    def seal(self, plain: str, *, purpose: str) -> str:
        """`purpose` (e.g. the contact point's id and field) is bound to the ciphertext, so a
        sealed value copied onto another row or field does not open there."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plain.encode(), purpose.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str, *, purpose: str) -> str:
        try:
            raw = base64.b64decode(sealed)
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode())
        except (binascii.Error, ValueError, InvalidTag) as exc:
            raise SealingUnavailable(
                "a contact point's secret does not open with this node's key"
            ) from exc
        return plain.decode()
