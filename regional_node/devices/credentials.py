"""Device secrets: issued once, kept as a PBKDF2-SHA512 hash, checked fast on repeat.

The broker keeps its own hash of the same secret (dynamic security hashes what the node hands it
at provisioning); the node's copy serves HTTP ingest. Checking a PBKDF2 hash on every HTTP batch
would cost tens of milliseconds, so a secret that verified once is remembered (as a keyed digest,
not in clear) for as long as the stored hash is the same: rotated credentials miss at once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from collections import OrderedDict

ITERATIONS = 60_000
_SCHEME = "pbkdf2-sha512"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str, *, iterations: int = ITERATIONS) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations)
    return "$".join(
        (_SCHEME, str(iterations), _b64(salt), _b64(digest)),
    )


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        expected = base64.urlsafe_b64decode(digest + "==")
        actual = hashlib.pbkdf2_hmac(
            "sha512", secret.encode(), base64.urlsafe_b64decode(salt + "=="), int(iterations)
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class VerifiedSecrets:
    """Secrets that verified recently, per device, as HMACs under a per-process key."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._key = secrets.token_bytes(32)
        self._seen: OrderedDict[str, bytes] = OrderedDict()
        self._capacity = capacity

    def _mac(self, device_key: str, secret: str, stored: str) -> bytes:
        message = f"{device_key}\0{secret}\0{stored}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    async def verify(self, device_key: str, secret: str, stored: str) -> bool:
        """Whether `secret` is the device's; a secret not seen before costs a PBKDF2 run, done
        in a worker thread so the event loop goes on."""
        mac = self._mac(device_key, secret, stored)
        known = self._seen.get(device_key)
        if known is not None and hmac.compare_digest(known, mac):
            return True
        if not await asyncio.to_thread(verify_secret, secret, stored):
            return False
        self._remember(device_key, mac)
        return True

    def _remember(self, device_key: str, mac: bytes) -> None:
        self._seen[device_key] = mac
        self._seen.move_to_end(device_key)
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
