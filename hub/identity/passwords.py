"""People's passwords: argon2id (pwdlib). Hashes made before argon2 (scrypt, by
`hub.identity.secrets`) still verify and are replaced by argon2id at the next successful sign-in.

Client secrets stay scrypt (`hub.identity.secrets`): they are long random strings, not chosen by
people, so a slow memory-hard hash adds nothing a dictionary attack could be slowed by.
"""

from __future__ import annotations

import secrets

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

from hub.identity.secrets import verify_secret

MIN_LENGTH = 12
MAX_LENGTH = 1024
"""Longer inputs are refused before hashing: a megabyte 'password' is work, not a secret."""

_hasher = PasswordHash((Argon2Hasher(),))
_DUMMY = _hasher.hash("no account has this password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, stored: str | None) -> tuple[bool, str | None]:
    """(matches, a new hash to store or None). Without a stored hash a dummy one is checked, so
    an unknown account costs the same time as a known one."""
    if len(password) > MAX_LENGTH:
        return False, None
    if stored is None:
        _hasher.verify(password, _DUMMY)
        return False, None
    if stored.startswith("scrypt$"):
        if verify_secret(password, stored):
            return True, hash_password(password)
        return False, None
    try:
        return _hasher.verify_and_update(password, stored)
    except UnknownHashError:
        return False, None


def one_time_password() -> str:
    """A random password shown once (to be changed by its owner): 20 characters, ~120 bits."""
    return secrets.token_urlsafe(15)
