"""The in-memory `jti` deny-list every token check consults.

The hub fills it from its database (and at once when it revokes); a node fills it from the hub's
revocation feed on each heartbeat. Entries drop out once the token would have expired anyway.
"""

from __future__ import annotations

import time


class RevocationSet:
    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self.last_seq = 0

    def add(self, jti: str, exp: float | None = None, *, seq: int | None = None) -> None:
        self._expiry[jti] = exp if exp is not None else time.time() + 24 * 3600
        if seq is not None:
            self.last_seq = max(self.last_seq, seq)

    def is_revoked(self, jti: str) -> bool:
        return jti in self._expiry

    def prune(self) -> None:
        now = time.time()
        self._expiry = {jti: exp for jti, exp in self._expiry.items() if exp > now}

    def __len__(self) -> int:
        return len(self._expiry)
