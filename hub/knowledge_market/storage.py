"""Release artifacts by content address under the hub's data directory:
`market/sha256/<first two hex>/<digest>`. An upload is written to a temporary file while its
digest is computed, and renamed into place only once the release is accepted, so a refused
upload leaves nothing behind and a reader never sees half a file."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from hub.knowledge_market.errors import ArtifactTooLarge
from yunfab.market import SHA256_HEX


@dataclass(frozen=True)
class Staged:
    path: Path
    sha256: str
    size: int


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, digest: str) -> Path:
        if SHA256_HEX.fullmatch(digest) is None:
            raise ValueError("not a sha256 hex digest")
        return self.root / "sha256" / digest[:2] / digest

    def _temporary(self) -> Path:
        staging = self.root / "tmp"
        staging.mkdir(parents=True, exist_ok=True)
        return staging / f"{uuid.uuid4().hex}.partial"

    async def stage(self, chunks: AsyncIterator[bytes], *, max_bytes: int) -> Staged:
        """Write an upload aside, hashing as it goes; refused (and removed) past `max_bytes`."""
        target = self._temporary()
        digest = hashlib.sha256()
        size = 0
        try:
            with target.open("wb") as handle:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise ArtifactTooLarge(f"artifacts are at most {max_bytes} bytes")
                    digest.update(chunk)
                    await asyncio.to_thread(handle.write, chunk)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return Staged(path=target, sha256=digest.hexdigest(), size=size)

    def stage_bytes(self, data: bytes) -> Staged:
        target = self._temporary()
        target.write_bytes(data)
        return Staged(path=target, sha256=hashlib.sha256(data).hexdigest(), size=len(data))

    def commit(self, staged: Staged) -> Path:
        """Move a staged artifact to its address (content already there: keep that one)."""
        final = self.path_of(staged.sha256)
        if final.exists():
            staged.path.unlink(missing_ok=True)
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, final)
        return final

    @staticmethod
    def discard(staged: Staged) -> None:
        staged.path.unlink(missing_ok=True)
