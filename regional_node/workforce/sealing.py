"""A worker's contact sealed for the one borrowing node that asked, so the hub relays it
without being able to read it.

The borrowing node makes an X25519 key pair for each request and sends the public half with it;
the lending node, once the employer and the worker accepted, seals the contact to that key: an
ephemeral X25519 exchange, HKDF-SHA256, AES-256-GCM with the request's id as associated data
(a sealed contact moved to another request does not open). The private half stays on the
borrowing node and is dropped once the contact is opened.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import uuid
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

VERSION = "v1"
INFO = b"yunfab workforce contact v1"


class SealError(ValueError):
    """Not a sealed contact for this key and request."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SealError("not base64") from exc


def new_key_pair() -> tuple[str, str]:
    """(private, public), each 32 bytes in base64."""
    private = X25519PrivateKey.generate()
    return (
        _b64(private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())),
        _b64(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)),
    )


def public_of(private_key: str) -> str:
    """The public half of a private key made by `new_key_pair`."""
    private = X25519PrivateKey.from_private_bytes(_unb64(private_key))
    return _b64(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def _key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=INFO).derive(
        shared
    )


def seal(public_key: str, request_id: uuid.UUID, contact: dict[str, Any]) -> str:
    recipient = _unb64(public_key)
    if len(recipient) != 32:
        raise SealError("an X25519 public key is 32 bytes")
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    nonce = os.urandom(12)
    sealed = AESGCM(_key(shared, ephemeral_public, recipient)).encrypt(
        nonce, json.dumps(contact, ensure_ascii=False).encode(), request_id.bytes
    )
    return ".".join((VERSION, _b64(ephemeral_public), _b64(nonce), _b64(sealed)))


def open_sealed(private_key: str, request_id: uuid.UUID, text: str) -> dict[str, Any]:
    parts = text.split(".")
    if len(parts) != 4 or parts[0] != VERSION:
        raise SealError("not a sealed contact")
    ephemeral_public, nonce, sealed = (_unb64(p) for p in parts[1:])
    private = X25519PrivateKey.from_private_bytes(_unb64(private_key))
    recipient = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        plain = AESGCM(_key(shared, ephemeral_public, recipient)).decrypt(
            nonce, sealed, request_id.bytes
        )
        contact = json.loads(plain)
    except (InvalidTag, ValueError) as exc:
        raise SealError("the sealed contact does not open with this request's key") from exc
    if not isinstance(contact, dict):
        raise SealError("not a contact")
    return contact
