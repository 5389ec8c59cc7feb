"""Release artifacts by content address in the hub's blob store (`hub.blobs`):
`market/sha256/<first two hex>/<digest>`, a file under the data directory by default, an S3
object scaled out. An upload is written to a local temporary file while its digest is computed,
and stored under its key only once the release is accepted (renamed into place on the hub's
disk, uploaded in parts to S3), so a refused upload leaves nothing behind and a reader, on any
replica, never sees half an artifact."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from hub.knowledge_market.errors import ArtifactNotFound, ArtifactTooLarge
from yunfab.blobs import BlobNotFound, BlobStore
from yunfab.market import SHA256_HEX


@dataclass(frozen=True)
class Staged:
    path: Path
    sha256: str
    size: int


class ArtifactStore:
    def __init__(self, blobs: BlobStore, staging: Path | None = None) -> None:
        self.blobs = blobs
        self.staging = staging
        """Uploads on their way in: a folder on this machine (the data volume's `market/tmp`);
        None: a store that only takes artifacts made in memory (`put_bytes`)."""

    @staticmethod
    def key_of(digest: str) -> str:
        if SHA256_HEX.fullmatch(digest) is None:
            raise ValueError("not a sha256 hex digest")
        return f"market/sha256/{digest[:2]}/{digest}"

    def path_of(self, digest: str) -> Path | None:
        """Where the artifact lies on this machine's disk, with a directory store."""
        return self.blobs.local_path(self.key_of(digest))

    def read(self, digest: str) -> Iterator[bytes]:
        """The artifact's bytes as they are read (blocking; `ArtifactNotFound` when the store
        has none)."""
        try:
            return self.blobs.chunks(self.key_of(digest))
        except BlobNotFound:
            raise ArtifactNotFound(f"artifact {digest} is missing from the hub's store") from None

    def _temporary(self) -> Path:
        if self.staging is None:
            raise ValueError("this artifact store has no staging folder")
        self.staging.mkdir(parents=True, exist_ok=True)
        return self.staging / f"{uuid.uuid4().hex}.partial"

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

    def commit(self, staged: Staged) -> None:
        """Store a staged artifact under its address (content already there: keep that one).
        Blocking: an S3 upload of a large artifact takes a while; run it in a thread."""
        key = self.key_of(staged.sha256)
        try:
            if self.blobs.exists(key):
                return
            final = self.blobs.local_path(key)
            if final is not None:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged.path, final)
            else:
                self.blobs.put_file(key, staged.path)
        finally:
            staged.path.unlink(missing_ok=True)

    def put_bytes(self, data: bytes) -> str:
        """Store an artifact made in memory (a federated model's weights); its digest."""
        digest = hashlib.sha256(data).hexdigest()
        key = self.key_of(digest)
        if not self.blobs.exists(key):
            self.blobs.put_bytes(key, data)
        return digest

    @staticmethod
    def discard(staged: Staged) -> None:
        staged.path.unlink(missing_ok=True)
