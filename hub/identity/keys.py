"""Signing keys: ES256, identified by `kid`, rotated.

The active key signs; the previous one stays in the JWKS so tokens it signed verify until they
expire; older keys are retired. Private keys are stored encrypted with the hub's passphrase
(required outside development). Every hub process reloads the ring periodically, so a rotation
done from the console reaches running hubs without a restart.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.identity.models import KeyStatus, SigningKey
from hub.identity.repository import IdentityRepository
from yunfab.db import session_scope, utcnow
from yunfab.errors import Conflict, ServiceUnavailable
from yunfab.tokens import ACCESS_TOKEN_TYPE, ALGORITHM

log = structlog.get_logger(__name__)


MIN_RELOAD_S = 5.0


def _new_key(passphrase: str | None) -> SigningKey:
    kid = f"{utcnow():%Y%m%d}-{secrets.token_hex(4)}"
    key = ECKey.generate_key("P-256", parameters={"kid": kid}, private=True)
    pem = key.as_pem(private=True, password=passphrase)
    return SigningKey(
        kid=kid,
        algorithm=ALGORITHM,
        private_pem=pem.decode(),
        encrypted=passphrase is not None,
        status=KeyStatus.ACTIVE,
        created_at=utcnow(),
    )


async def rotate_keys(
    session: AsyncSession, *, passphrase: str | None, retire_after: dt.timedelta
) -> SigningKey:
    """Make a new active key. The active one becomes previous; a previous key is retired once
    `retire_after` (the token lifetime) has passed since it stopped signing, so no live token
    loses its key. Refuses to add a plain key beside encrypted ones (a console run without the
    production passphrase)."""
    keys = await IdentityRepository(session).live_signing_keys(for_update=True)
    if passphrase is None and any(key.encrypted for key in keys):
        raise Conflict(
            "the signing keys are encrypted: give YUNFAB_HUB_SIGNING_KEY_PASSPHRASE to rotate"
        )
    now = utcnow()
    for key in keys:
        if key.status is KeyStatus.ACTIVE:
            key.status, key.rotated_at = KeyStatus.PREVIOUS, now
        elif key.rotated_at is None or now - key.rotated_at >= retire_after:
            key.status = KeyStatus.RETIRED
    fresh = _new_key(passphrase)
    session.add(fresh)
    await session.flush()
    return fresh


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    key: ECKey
    status: KeyStatus


class KeyRing:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        passphrase: str | None,
        retire_after: dt.timedelta,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.passphrase = passphrase
        self.retire_after = retire_after
        self._loaded_at = float("-inf")
        self._keys: list[LoadedKey] = []
        self._public = KeySet([])

    async def load(self) -> None:
        """Read the live keys; create the first one on a new database."""
        async with session_scope(self.sessionmaker) as session:
            repository = IdentityRepository(session)
            rows = await repository.live_signing_keys()
            if not any(row.status is KeyStatus.ACTIVE for row in rows):
                await rotate_keys(
                    session, passphrase=self.passphrase, retire_after=self.retire_after
                )
                rows = await repository.live_signing_keys()
        loaded = []
        for row in rows:
            password = self.passphrase if row.encrypted else None
            key = ECKey.import_key(row.private_pem, parameters={"kid": row.kid}, password=password)
            loaded.append(LoadedKey(kid=row.kid, key=key, status=row.status))
        self._keys = loaded
        self._public = KeySet([ECKey.import_key(k.key.as_dict(private=False)) for k in loaded])
        self._loaded_at = time.monotonic()

    async def refresh(self) -> None:
        """For a token naming an unknown `kid`: reload, at most every few seconds, so random
        `kid`s cannot turn into a database query each; a failed reload leaves the ring as is."""
        if time.monotonic() - self._loaded_at < MIN_RELOAD_S:
            return
        self._loaded_at = time.monotonic()  # claimed before awaiting: one reload per burst
        try:
            await self.load()
        except Exception:
            log.exception("key_reload_failed")

    def key_set(self) -> KeySet:
        return self._public

    def jwks(self) -> dict[str, Any]:
        keys = []
        for loaded in self._keys:
            public = loaded.key.as_dict(private=False)
            keys.append({**public, "kid": loaded.kid, "alg": ALGORITHM, "use": "sig"})
        return {"keys": keys}

    @property
    def active(self) -> LoadedKey:
        for key in self._keys:
            if key.status is KeyStatus.ACTIVE:
                return key
        raise ServiceUnavailable("no signing key is loaded yet")

    def sign(self, claims: dict[str, Any], *, typ: str = ACCESS_TOKEN_TYPE) -> str:
        active = self.active
        header = {"alg": ALGORITHM, "kid": active.kid, "typ": typ}
        return jwt.encode(header, claims, active.key)


def access_token_claims(
    *,
    issuer: str,
    audience: str,
    lifetime_s: int,
    subject: str,
    client_id: str,
    scope: str,
    org: str | None,
    org_kind: str | None,
    region: str | None = None,
    node: str | None = None,
    roles: list[str] | None = None,
) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "exp": now + lifetime_s,
        "iat": now,
        "nbf": now,
        "jti": uuid.uuid4().hex,
        "client_id": client_id,
        "scope": scope,
        "org": org,
        "org_kind": org_kind,
    }
    if region:
        claims["region"] = region
    if node:
        claims["node"] = node
    if roles:
        claims["roles"] = roles
    return claims
