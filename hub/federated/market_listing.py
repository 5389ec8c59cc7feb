"""A finished federated run's global model (issue #7) published on the market.

The hub publishes it as a release of listing `federated-<model name>` under its own publisher
organization, signed with the hub's market key, and countersigns it with the same key (the hub
checked the run itself): nodes verify it offline like any other release. The key lives in the
hub's blob store (`market/market-signing-key.pem`: under the data directory, owner-only, or in
the hub's S3 bucket, where every replica and worker reads the same one), made on first use; its
public half is registered as both a publisher and a reviewer key. Publishing a model version
twice returns the first release.
"""

from __future__ import annotations

import asyncio
import os
import re

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncSession

import yunfab
from hub.federated.models import GlobalModel
from hub.knowledge_market import service
from hub.knowledge_market.models import KeyKind, MarketKey, MarketPublisher, Release
from hub.knowledge_market.repository import MarketRepository
from hub.knowledge_market.storage import ArtifactStore
from hub.organizations.models import OrganizationKind
from hub.organizations.service import ensure_organization
from yunfab import market
from yunfab.blobs import BlobNotFound, BlobStore
from yunfab.subject import Subject, SubjectKind

log = structlog.get_logger(__name__)

HUB_PUBLISHER = "Yunfab hub"
"""The hub operator organization federated models are published under."""
KEY_FILE = "market-signing-key.pem"


KEY = f"market/{KEY_FILE}"


def hub_key(blobs: BlobStore) -> Ed25519PrivateKey:
    """The hub's market key, made (owner-only) on first use (blocking)."""
    path = blobs.local_path(KEY)
    if path is not None:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem, _ = market.generate_key()
            partial = path.with_suffix(".partial")
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
            try:
                os.link(partial, path)  # first writer wins: never replace a key in use
            except FileExistsError:
                pass
            partial.unlink(missing_ok=True)
        return market.load_private_key(path.read_bytes())
    try:
        return market.load_private_key(blobs.get_bytes(KEY))
    except BlobNotFound:
        pass
    # Two replicas making the first key at once: the last upload stays, and both read it back
    # before signing. (A key that signed anything is registered with it, so even a release
    # signed in the instant between stays verifiable.)
    pem, _ = market.generate_key()
    blobs.put_bytes(KEY, pem)
    return market.load_private_key(blobs.get_bytes(KEY))


def listing_name(model_name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", model_name.lower()).strip("-")
    return f"federated-{slug}"[:64].rstrip("-")


def _version_range() -> str:
    """The model format belongs to this minor version of Yunfab."""
    major, minor = yunfab.__version__.split(".")[:2]
    return f"=={major}.{minor}.*"


async def publish_global_model(
    session: AsyncSession, model: GlobalModel, *, weights: bytes, blobs: BlobStore
) -> Release:
    actor = Subject(kind=SubjectKind.SYSTEM, id="federated")
    organization = await ensure_organization(
        session, name=HUB_PUBLISHER, kind=OrganizationKind.HUB_OPERATOR
    )
    name = listing_name(model.name)
    version = f"{model.version}.0.0"
    repository = MarketRepository(session)
    listing = await repository.listing_by_slug(name)
    if listing is not None:
        existing = await repository.release_of_version(listing.id, version)
        if existing is not None:
            return existing
    key = await asyncio.to_thread(hub_key, blobs)
    public = market.public_key_b64(key)
    key_id = market.key_id(market.decode_public_key(public))
    for kind in (KeyKind.PUBLISHER, KeyKind.REVIEWER):
        registered = await repository.key(kind, key_id)
        if registered is None:
            repository.add(
                MarketKey(
                    organization_id=organization.id, kind=kind, key_id=key_id,
                    public_key=public, registered_by=actor.label,
                )
            )  # fmt: skip
    if await repository.publisher(organization.id) is None:
        repository.add(MarketPublisher(organization_id=organization.id, verified_by=actor.label))
    await repository.flush()
    metrics = {k: v for k, v in (model.metrics or {}).items() if isinstance(v, int | float)}
    manifest = market.Manifest.from_data(
        {
            "name": name,
            "version": version,
            "kind": "defect_model",
            "yunfab": _version_range(),
            "license": "Apache-2.0",
            "permissions": ["vision:model"],
            "pricing": {"model": "free"},
            "title": f"Federated {model.name} v{model.version}",
            "summary": f"Defect-detection head trained by federated run across "
            f"{len(model.lineage.get('nodes') or [])} nodes, version {model.version}.",
            "industry": "manufacturing",
            "tags": ["federated", "defect-detection"],
            "content": {
                "sku": "any",
                "format": "federated-head-v1",
                "global_model_id": str(model.id),
                "global_model_version": model.version,
                "run": model.lineage.get("run"),
                "metrics": metrics,
            },
        }
    )
    digest = market.sha256_hex(weights)
    signature = market.sign(key, market.signing_payload(manifest, digest))
    release = await service.store_release(
        session, actor, org=organization.id, manifest=manifest, digest=digest,
        size=len(weights), signature=signature, key_id=key_id,
    )  # fmt: skip
    # Stored once the release is accepted; the transaction rolls back if this fails.
    await asyncio.to_thread(ArtifactStore(blobs).put_bytes, weights)
    countersignature = market.sign(key, market.review_payload(manifest, digest))
    await service.countersign(
        session, release, key_id=key_id, signature=countersignature, by=actor.label
    )
    listing = await repository.listing(release.listing_id)
    assert listing is not None
    await service.refresh_listing(session, listing)
    log.info("federated_model_published", listing=name, version=version)
    return release
