"""Offline checks of a downloaded release, before anything on the node changes.

Everything here runs on what the node already holds: the artifact's bytes, the release as the
hub described it, and the trust roots cached from the hub's last answer. A hub that has been
tampered with since cannot make a node accept an artifact whose digest, publisher signature or
review does not check out against keys the node already trusted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

import yunfab
from regional_node.market.errors import InstallRefused
from yunfab import market


@dataclass(frozen=True)
class TrustedKey:
    key_id: str
    public_key: str
    status: str
    organization_id: str | None = None


@dataclass(frozen=True)
class TrustRoots:
    publishers: Mapping[str, TrustedKey]
    reviewers: Mapping[str, TrustedKey]


class Review(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key_id: str
    signature: str


class Release(BaseModel):
    """A release as the hub lists it with an installation (only what the node relies on)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    listing: str
    kind: str
    version: str
    manifest: dict[str, Any]
    artifact_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    artifact_size: int | None = None
    signature: str
    key_id: str
    publisher: str | None = None
    """The publishing organization's id at the hub, when the hub names it."""
    reviews: list[Review] = Field(default_factory=list)
    status: str = "published"
    status_reason: str | None = None


def check(
    release: Release,
    artifact: bytes,
    trust: TrustRoots,
    *,
    require_verified: bool,
    version: str = yunfab.__version__,
) -> market.Manifest:
    """The release's manifest, once the artifact and the release pass every check; otherwise
    `InstallRefused` with the first failing check's stable code."""
    digest = market.sha256_hex(artifact)
    if digest != release.artifact_sha256 or (
        release.artifact_size is not None and len(artifact) != release.artifact_size
    ):
        raise InstallRefused(
            "artifact_digest_mismatch",
            f"the artifact's sha256 is {digest}, the release says {release.artifact_sha256}",
        )
    try:
        manifest = market.Manifest.from_data(release.manifest)
    except market.ManifestInvalid as exc:
        raise InstallRefused("manifest_invalid", exc.detail) from exc
    named = (manifest.name, manifest.version, manifest.kind)
    if named != (release.listing, release.version, release.kind):
        raise InstallRefused(
            "manifest_invalid",
            f"the manifest names {'/'.join(named)}, the release "
            f"{release.listing}/{release.version}/{release.kind}",
        )
    key = trust.publishers.get(release.key_id)
    if key is None or (release.publisher is not None and key.organization_id != release.publisher):
        raise InstallRefused(
            "untrusted_key",
            f"key {release.key_id} is not among the trusted keys of the release's publisher",
        )
    if not market.verify(
        key.public_key, release.signature, market.signing_payload(manifest, digest)
    ):
        raise InstallRefused(
            "signature_invalid", f"the publisher's signature does not verify with {key.key_id}"
        )
    if require_verified and not _reviewed(release.reviews, trust, manifest, digest):
        raise InstallRefused(
            "not_verified",
            "no trusted reviewer's countersignature verifies, and this node installs verified "
            "releases only",
        )
    if not market.compatible(manifest, version):
        raise InstallRefused(
            "incompatible", f"the release needs Yunfab {manifest.yunfab}; this node runs {version}"
        )
    return manifest


def _reviewed(
    reviews: Sequence[Review], trust: TrustRoots, manifest: market.Manifest, digest: str
) -> bool:
    payload = market.review_payload(manifest, digest)
    for review in reviews:
        key = trust.reviewers.get(review.key_id)
        if key is not None and market.verify(key.public_key, review.signature, payload):
            return True
    return False
