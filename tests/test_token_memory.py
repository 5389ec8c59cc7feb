"""A validator remembers the tokens whose signature it verified, and still refuses what it
refused before: a revoked or expired token, one whose signature does not verify, one signed by a
key the key set no longer holds as it was."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from yunfab.tokens import (
    ACCESS_TOKEN_TYPE,
    ALGORITHM,
    TokenBadSignature,
    TokenExpired,
    TokenRevoked,
    TokenValidator,
)


class Keys:
    def __init__(self, key: ECKey) -> None:
        self.public = KeySet([ECKey.import_key(key.as_dict(private=False))])

    def key_set(self) -> KeySet:
        return self.public

    async def refresh(self) -> None:
        return None


class Revocations:
    def __init__(self) -> None:
        self.ids: set[str] = set()

    def is_revoked(self, jti: str) -> bool:
        return jti in self.ids

    async def revoked(self, jti: str) -> bool:
        return jti in self.ids


def new_key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "k1"})


def sign(key: ECKey, jti: str, *, expires_in: float = 300) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "https://hub.test", "sub": "client-1", "aud": "https://node.test",
        "iat": now, "exp": now + expires_in, "jti": jti, "scope": "nodes:read",
    }  # fmt: skip
    header = {"alg": ALGORITHM, "typ": ACCESS_TOKEN_TYPE, "kid": "k1"}
    return jwt.encode(header, claims, key)


async def test_a_remembered_token_is_still_checked() -> None:
    key, revocations = new_key(), Revocations()
    keys = Keys(key)
    validator = TokenValidator(
        keys=keys, revocations=revocations, issuer="https://hub.test",
        audience="https://node.test", leeway_s=0,
    )  # fmt: skip
    token = sign(key, "t1")
    for _ in range(3):
        assert (await validator.validate(token)).jti == "t1"

    # The same claims under another signature are verified, not taken as remembered.
    header, payload, _ = token.split(".")
    _, _, other = sign(new_key(), "t1").split(".")
    with pytest.raises(TokenBadSignature):
        await validator.validate(f"{header}.{payload}.{other}")

    revocations.ids.add("t1")
    with pytest.raises(TokenRevoked):
        await validator.validate(token)

    expired = sign(key, "t2", expires_in=-10)
    with pytest.raises(TokenExpired):
        await validator.validate(expired)

    # A key set holding another key under the same kid: the remembered token verifies again
    # (and fails: the new key did not sign it).
    remembered = sign(key, "t3")
    assert (await validator.validate(remembered)).jti == "t3"
    keys.public = Keys(new_key()).public
    with pytest.raises(TokenBadSignature):
        await validator.validate(remembered)
