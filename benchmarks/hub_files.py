"""The hub's market artifacts on S3 against the hub's data folder, in one run (issue #22).

An artifact goes the way a publisher's upload and a node's download go through a hub replica
(`hub.knowledge_market.storage.ArtifactStore`), without HTTP: staged from 1 MiB chunks into a
local file while its sha256 is computed, then stored under its address (S3: uploaded in 8 MiB
parts; the folder: renamed into place), then read back in 1 MiB chunks as the download
endpoint streams it. Through S3 on SeaweedFS (started by this script, `weed server -s3`) and,
as the reference, through a directory (the embedded default); MiB/s each way, the median of
the rounds.

    python -m benchmarks.hub_files [--quick]

Ends with one JSON line (each figure beside its reference).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from benchmarks.scale import start_seaweed
from hub.knowledge_market.storage import ArtifactStore
from yunfab.blobs import BlobStore, FileBlobStore, S3BlobStore

CHUNK = 1024 * 1024


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]


async def artifact_rate(
    blobs: BlobStore, staging: Path, size_mib: int, rounds: int
) -> dict[str, Any]:
    store = ArtifactStore(blobs, staging)
    up: list[float] = []
    down: list[float] = []
    for _ in range(rounds):
        data = os.urandom(size_mib * CHUNK)  # a new digest each round: a new object
        start = time.perf_counter()
        staged = await store.stage(_chunks(data), max_bytes=len(data))
        await asyncio.to_thread(store.commit, staged)
        up.append(time.perf_counter() - start)
        start = time.perf_counter()
        read = 0
        for chunk in await asyncio.to_thread(store.read, staged.sha256):
            read += len(chunk)
        down.append(time.perf_counter() - start)
        assert read == len(data)
    return {
        "upload_mib_per_s": round(size_mib / statistics.median(up), 1),
        "download_mib_per_s": round(size_mib / statistics.median(down), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="within 60 s")
    args = parser.parse_args()
    size_mib, rounds = (16, 3) if args.quick else (64, 7)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="yunfab-hub-files-") as tmp:
        root = Path(tmp)
        (root / "weed").mkdir()
        process, location = start_seaweed(root / "weed")
        try:
            s3 = asyncio.run(
                artifact_rate(S3BlobStore(location), root / "s3-staging", size_mib, rounds)
            )
        finally:
            process.kill()  # SeaweedFS takes its time over SIGTERM; nothing here is kept
            process.wait(10)
        directory = asyncio.run(
            artifact_rate(FileBlobStore(root / "data"), root / "data" / "market" / "tmp",
                          size_mib, rounds)
        )  # fmt: skip
    print(f"market artifacts of {size_mib} MiB through a hub replica (median of {rounds}):")
    for name, row in (("S3 on SeaweedFS", s3), ("data folder (reference)", directory)):
        print(
            f"  {name:26} upload {row['upload_mib_per_s']:>8.1f} MiB/s"
            f"   download {row['download_mib_per_s']:>8.1f} MiB/s"
        )
    figures: dict[str, Any] = {
        "artifact_mib": size_mib,
        "rounds": rounds,
        "s3_seaweedfs": s3,
        "reference_directory": directory,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
