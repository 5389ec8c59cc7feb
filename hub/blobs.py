"""The hub's files behind one object store (`yunfab.blobs`): the data directory itself by
default, so a hub's existing files keep working; an S3 bucket when the hub runs as several
replicas and workers (`blob_store = "s3"`).

Keys, the same in both (a directory store's key is the path under `data_dir`):
`market/sha256/<2 hex>/<digest>` (release artifacts, by content), `market/market-signing-key.pem`
(the hub's market key), `models/<name>/v<version>-<digest>.npz` (federated models) and
`federated/<run id>/{progress.json,summary.json,global.npz}` (what the ServerApp writes).
"""

from __future__ import annotations

import asyncio

import structlog

from hub.settings import HubSettings
from yunfab.blobs import BlobStore, FileBlobStore, S3BlobStore, S3Location

log = structlog.get_logger(__name__)

_S3: dict[S3Location, S3BlobStore] = {}
"""One client per bucket and process: boto3 clients are thread-safe and pool connections."""


def hub_blobs(settings: HubSettings) -> BlobStore:
    location = settings.blob_location()
    if location is None:
        return FileBlobStore(settings.data_dir)
    store = _S3.get(location)
    if store is None:
        store = _S3[location] = S3BlobStore(location)
    return store


async def prepare_blobs(settings: HubSettings) -> BlobStore:
    """The store, its bucket made when missing (at start-up, before anything is written)."""
    store = hub_blobs(settings)
    if isinstance(store, S3BlobStore):
        await asyncio.to_thread(store.ensure_bucket)
        log.info("hub_files_in_s3", bucket=store.location.bucket, prefix=store.prefix)
    return store
