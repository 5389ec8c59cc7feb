"""The `jti` deny-list every token check consults.

The hub fills it from its database (and at once when it revokes); a node fills it from the hub's
revocation feed on each heartbeat. Entries drop out once the token would have expired anyway.

Shared (`share`, the hub with `nats_url`): a revocation is also written to a shared-state bucket
that every replica watches into its own list, and a token check that finds nothing here asks the
bucket, so a token revoked through one replica is refused by the next request to any other, not
after the next database refresh. When the bucket cannot be reached, the list here answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import orjson
import structlog

from yunfab.shared_state import SharedState, SharedStateError, key_for

log = structlog.get_logger(__name__)

DEFAULT_LIFETIME_S = 24 * 3600
"""How long an id revoked without its token's expiry is kept."""


class RevocationSet:
    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self.last_seq = 0
        self._shared: SharedState | None = None
        self._watch: asyncio.Task[None] | None = None

    def add(self, jti: str, exp: float | None = None, *, seq: int | None = None) -> None:
        self._expiry[jti] = exp if exp is not None else time.time() + DEFAULT_LIFETIME_S
        if seq is not None:
            self.last_seq = max(self.last_seq, seq)

    def is_revoked(self, jti: str) -> bool:
        """From this process's list alone (a subscription's periodic check)."""
        return jti in self._expiry

    async def revoked(self, jti: str) -> bool:
        """Whether any replica has revoked `jti` (each token check)."""
        if jti in self._expiry:
            return True
        if self._shared is None:
            return False
        try:
            entry = await self._shared.get(key_for(jti))
        except SharedStateError as exc:
            log.warning("revocations_unreachable", error=str(exc))
            return False
        if entry is None:
            return False
        self._expiry[jti] = self._expiry_of(entry.value)
        return True

    async def revoke(self, jti: str, exp: float | None = None) -> None:
        """Revoked here: on this list, and on every replica's once shared."""
        self.add(jti, exp)
        if self._shared is not None:
            value = orjson.dumps({"jti": jti, "exp": self._expiry[jti]})
            try:
                await self._shared.put(key_for(jti), value)
            except SharedStateError as exc:  # the database has it; others load it on refresh
                log.warning("revocation_not_shared", error=str(exc))

    @staticmethod
    def _expiry_of(value: bytes) -> float:
        try:
            return float(orjson.loads(value)["exp"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return time.time() + DEFAULT_LIFETIME_S

    async def share(self, bucket: SharedState) -> None:
        """Share revocations through `bucket` from now on (its TTL: the longest a token lives)."""
        self._shared = bucket
        self._watch = asyncio.create_task(self._follow(bucket), name="revocations-watch")

    async def _follow(self, bucket: SharedState) -> None:
        while True:
            try:
                async for change in bucket.watch():
                    if change.value is None:
                        continue
                    try:
                        jti = str(orjson.loads(change.value)["jti"])
                    except (orjson.JSONDecodeError, KeyError, TypeError):
                        continue
                    self._expiry.setdefault(jti, self._expiry_of(change.value))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS gone for a while: `revoked` asks it each time
                log.warning("revocations_watch_failed", error=str(exc))
            await asyncio.sleep(1.0)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watch
            self._watch = None

    def prune(self) -> None:
        now = time.time()
        self._expiry = {jti: exp for jti, exp in self._expiry.items() if exp > now}

    def __len__(self) -> int:
        return len(self._expiry)
