"""The knowledge and app market (issue #9): verified publishers sign immutable releases, the hub
checks them on upload, reviewers countersign, publishers grant entitlements, and node operators
install releases on their nodes, which fetch, verify offline and report back.

Who may do what is the policy's (policies/hub_market.rego); the rules of the market (signatures,
compatibility, entitlements, the installation state machine) are here. Every refusal raises a
`YunfabError` with a stable code, before anything is written. Yanks, revocations, publisher
verification and installation requests are written to the hub's audit chain.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import append_entry
from hub.federation.models import RegionalNode
from hub.knowledge_market.errors import (
    AlreadyInstalled,
    ArtifactNotFound,
    InstallationNotFound,
    InvalidTransition,
    KeyNotFound,
    KeyTaken,
    ListingNotFound,
    ListingTaken,
    NodeNotFound,
    NotInstalled,
    OrganizationNotFound,
    PublisherNotVerified,
    ReleaseNotFound,
)
from hub.knowledge_market.models import (
    Entitlement,
    EntitlementKind,
    Installation,
    InstallationState,
    KeyKind,
    KeyStatus,
    Listing,
    ListingReview,
    MarketKey,
    MarketPublisher,
    Release,
    ReleaseReview,
    ReleaseStatus,
    UsageEvent,
)
from hub.knowledge_market.repository import MarketRepository
from hub.knowledge_market.storage import ArtifactStore, Staged
from hub.organizations.models import OrganizationKind
from yunfab import market
from yunfab.authorization import Authorizer
from yunfab.db import utcnow
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.market import (
    ArtifactDigestMismatch,
    Incompatible,
    Manifest,
    NotEntitled,
    ReleaseRevoked,
    SignatureInvalid,
    VersionTaken,
)
from yunfab.subject import Subject

log = structlog.get_logger(__name__)

PUBLISHER_KINDS = (
    OrganizationKind.PUBLISHER,
    OrganizationKind.NODE_OPERATOR,
    OrganizationKind.HUB_OPERATOR,
)
MAX_CONFIG_BYTES = 16 * 1024
MAX_REASON = 500
_SLUG = re.compile(market.SLUG)


def _org_uuid(subject: Subject) -> uuid.UUID:
    assert subject.org_id is not None  # the policy lets only subjects of an organization here
    return uuid.UUID(subject.org_id)


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(f"reason: say why, in at most {MAX_REASON} characters")
    return reason


# --- publishers and keys ------------------------------------------------------------------


async def register_key(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    public_key: str,
    kind: KeyKind,
) -> MarketKey:
    """An organization registers a public key of its own; registering it again changes nothing."""
    await authorizer.check(
        subject, "hub.market.key.register", {"org": subject.org_id, "kind": kind.value}
    )
    raw = market.decode_public_key(public_key.strip())
    key_id = market.key_id(raw)
    repository = MarketRepository(session)
    existing = await repository.key(kind, key_id)
    if existing is not None:
        if existing.organization_id != _org_uuid(subject) or existing.status is KeyStatus.RETIRED:
            raise KeyTaken(f"key {key_id} is registered already")
        return existing
    key = MarketKey(
        organization_id=_org_uuid(subject),
        kind=kind,
        key_id=key_id,
        public_key=public_key.strip(),
        registered_by=subject.label,
    )
    repository.add(key)
    await repository.flush()
    await append_entry(
        session, actor=subject, action="hub.market.key.register",
        resource=f"market-key:{kind.value}:{key_id}", outcome="ok", detail={},
    )  # fmt: skip
    return key


async def retire_key(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, key_id: str, kind: KeyKind
) -> MarketKey:
    """No new signatures verify with a retired key; what it signed before still does."""
    key = await MarketRepository(session).key(kind, key_id)
    if key is None:
        raise KeyNotFound(f"no {kind.value} key {key_id}")
    await authorizer.check(
        subject, "hub.market.key.retire", {"org": str(key.organization_id), "kind": kind.value}
    )
    if key.status is KeyStatus.ACTIVE:
        key.status, key.retired_at = KeyStatus.RETIRED, utcnow()
        await append_entry(
            session, actor=subject, action="hub.market.key.retire",
            resource=f"market-key:{kind.value}:{key_id}", outcome="ok", detail={},
        )  # fmt: skip
    return key


async def verify_publisher(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, organization_id: uuid.UUID
) -> MarketPublisher:
    await authorizer.check(subject, "hub.market.publisher.verify", {"org": str(organization_id)})
    repository = MarketRepository(session)
    organization = await repository.organization(organization_id)
    if organization is None:
        raise OrganizationNotFound(f"no organization {organization_id}")
    if organization.kind not in PUBLISHER_KINDS:
        raise InvalidInput(
            f"a {organization.kind.value} organization does not publish on the market"
        )
    publisher = await repository.publisher(organization_id)
    if publisher is None:
        publisher = MarketPublisher(organization_id=organization_id, verified_by=subject.label)
        repository.add(publisher)
        await repository.flush()
        await append_entry(
            session, actor=subject, action="hub.market.publisher.verify",
            resource=f"organization:{organization_id}", outcome="ok",
            detail={"name": organization.name},
        )  # fmt: skip
    return publisher


async def is_verified_publisher(session: AsyncSession, organization_id: uuid.UUID) -> bool:
    return await MarketRepository(session).publisher(organization_id) is not None


@dataclass(frozen=True)
class Trust:
    publishers: list[MarketKey]
    reviewers: list[MarketKey]


async def trust(session: AsyncSession, subject: Subject, *, authorizer: Authorizer) -> Trust:
    """The keys nodes verify releases against offline: verified publishers' and reviewers'."""
    await authorizer.check(subject, "hub.market.trust.read")
    repository = MarketRepository(session)
    publishers = await repository.verified_publishers_keys()
    return Trust(publishers=publishers, reviewers=await repository.reviewer_keys())


async def keys_of(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer
) -> Sequence[MarketKey]:
    await authorizer.check(subject, "hub.market.read")
    if subject.org_id is None:
        return []
    return await MarketRepository(session).keys_of(_org_uuid(subject))


MAX_PUBLISHERS_ASKED = 100
MAX_INSTALL_TARGETS = 200


async def publishers_among(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    organization_ids: Sequence[uuid.UUID],
) -> Sequence[MarketPublisher]:
    """Which of these organizations are verified publishers (a reviewer's list of publishers,
    a publisher asking about itself): verification is public on the market, like `verified`."""
    await authorizer.check(subject, "hub.market.read")
    if len(organization_ids) > MAX_PUBLISHERS_ASKED:
        raise InvalidInput(f"organizationIds: at most {MAX_PUBLISHERS_ASKED}")
    if not organization_ids:
        return []
    return await MarketRepository(session).publishers_among(organization_ids)


async def install_targets(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer
) -> list[RegionalNode]:
    """The nodes the caller may ask installations on: its organization's, each decided by the
    same rule `request_installation` asks (one evaluation for the list)."""
    await authorizer.check(subject, "hub.market.read")
    if subject.org_id is None:
        return []
    nodes = await MarketRepository(session).nodes_operated_by(
        _org_uuid(subject), MAX_INSTALL_TARGETS
    )
    return await authorizer.filter(subject, "hub.market.install.request", nodes, _node_resource)


# --- releases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    manifest_text: str
    staged: Staged
    signature: str
    key_id: str
    claimed_sha256: str | None = None
    """The digest the publisher signed, when it says: a different upload is a tampered one."""


async def publish_release(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    store: ArtifactStore,
    upload: Upload,
) -> Release:
    """Check an uploaded release and store it; on any refusal nothing is kept (the staged
    artifact is discarded, the transaction rolls back)."""
    try:
        release = await _publish(session, subject, authorizer=authorizer, upload=upload)
    except BaseException:
        store.discard(upload.staged)
        raise
    await asyncio.to_thread(store.commit, upload.staged)
    return release


async def _publish(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, upload: Upload
) -> Release:
    await authorizer.check(subject, "hub.market.release.publish", {"org": subject.org_id})
    org = _org_uuid(subject)
    if not await is_verified_publisher(session, org):
        raise PublisherNotVerified("your organization is not a verified publisher on this hub")
    manifest = Manifest.load(upload.manifest_text)
    digest = upload.staged.sha256
    if upload.claimed_sha256 is not None and upload.claimed_sha256.lower() != digest:
        raise ArtifactDigestMismatch(
            f"the artifact's sha256 is {digest}, not the {upload.claimed_sha256} it was signed as"
        )
    return await store_release(
        session, subject, org=org, manifest=manifest, digest=digest, size=upload.staged.size,
        signature=upload.signature, key_id=upload.key_id,
    )  # fmt: skip


async def store_release(
    session: AsyncSession,
    subject: Subject,
    *,
    org: uuid.UUID,
    manifest: Manifest,
    digest: str,
    size: int,
    signature: str,
    key_id: str,
) -> Release:
    repository = MarketRepository(session)
    key = await repository.active_key_of(org, KeyKind.PUBLISHER, key_id)
    if key is None:
        raise SignatureInvalid(f"{key_id!r} is no active signing key of your organization")
    if not market.verify(key.public_key, signature, market.signing_payload(manifest, digest)):
        raise SignatureInvalid("the signature does not verify over this manifest and artifact")
    listing = await repository.listing_by_slug(manifest.name, for_update=True)
    if listing is None:
        listing = Listing(
            slug=manifest.name,
            kind=manifest.kind,
            publisher_org=org,
            title=manifest.display_title,
            summary=manifest.summary,
            industry=manifest.industry,
            tags=list(manifest.tags),
            search_text="",
        )
        repository.add(listing)
        await repository.flush()
    elif listing.publisher_org != org:
        raise ListingTaken(f"{manifest.name!r} is another publisher's listing")
    elif listing.kind != manifest.kind:
        raise ListingTaken(f"{manifest.name!r} is a listing of kind {listing.kind}")
    taken = await repository.release_id_of_version(listing.id, manifest.version)
    if taken is not None:
        raise VersionTaken(f"{manifest.name} {manifest.version} exists: releases are immutable")
    release = Release(
        listing_id=listing.id,
        version=manifest.version,
        manifest=manifest.model_dump(mode="json"),
        artifact_sha256=digest,
        artifact_size=size,
        signature=signature,
        key_id=key_id,
        published_by=subject.label,
    )
    repository.add(release)
    await repository.flush()
    await refresh_listing(session, listing)
    log.info("market_release_published", listing=listing.slug, version=release.version)
    return release


def manifest_of(release: Release) -> Manifest:
    return Manifest.from_data(release.manifest)


async def refresh_listing(session: AsyncSession, listing: Listing) -> None:
    """Copy the latest visible release's facets onto its listing (search reads them there)."""
    releases = await MarketRepository(session).releases_of_listing(listing.id)
    visible = [r for r in releases if r.status is ReleaseStatus.PUBLISHED]
    latest = max(visible, key=lambda r: market.semver_key(r.version), default=None)
    listing.updated_at = utcnow()
    if latest is None:
        listing.latest_release_id = listing.latest_version = None
        listing.verified = False
        return
    manifest = manifest_of(latest)
    listing.latest_release_id, listing.latest_version = latest.id, latest.version
    listing.license, listing.yunfab_range = manifest.license, manifest.yunfab
    listing.verified, listing.free = latest.verified, manifest.is_free
    listing.title, listing.summary = manifest.display_title, manifest.summary
    listing.industry, listing.tags = manifest.industry, list(manifest.tags)
    listing.search_text = " ".join(
        [manifest.display_title, manifest.summary, " ".join(manifest.tags), manifest.name]
    ).lower()


async def _release(session: AsyncSession, release_id: uuid.UUID) -> tuple[Release, Listing]:
    repository = MarketRepository(session)
    release = await repository.release(release_id, for_update=True)
    if release is None:
        raise ReleaseNotFound(f"no release {release_id}")
    listing = await repository.listing(release.listing_id)
    assert listing is not None
    return release, listing


async def review_release(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    release_id: uuid.UUID,
    key_id: str,
    signature: str,
) -> Release:
    """A reviewer countersigns: the release (and, if latest, its listing) is verified."""
    release, listing = await _release(session, release_id)
    await authorizer.check(subject, "hub.market.release.review", {"org": subject.org_id})
    if release.status is ReleaseStatus.REVOKED:
        raise ReleaseRevoked(f"release {release.id} was revoked: {release.status_reason}")
    key = await MarketRepository(session).active_key_of(
        _org_uuid(subject), KeyKind.REVIEWER, key_id
    )
    if key is None:
        raise SignatureInvalid(f"{key_id!r} is no active reviewer key of your organization")
    payload = market.review_payload(manifest_of(release), release.artifact_sha256)
    if not market.verify(key.public_key, signature, payload):
        raise SignatureInvalid("the countersignature does not verify over this release")
    await countersign(session, release, key_id=key_id, signature=signature, by=subject.label)
    await refresh_listing(session, listing)
    return release


async def countersign(
    session: AsyncSession, release: Release, *, key_id: str, signature: str, by: str
) -> None:
    repository = MarketRepository(session)
    if await repository.review_by_key(release.id, key_id) is None:
        repository.add(
            ReleaseReview(release_id=release.id, key_id=key_id, signature=signature, reviewer=by)
        )
    release.verified = True
    await repository.flush()


async def reviews_of(
    session: AsyncSession, release_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ReleaseReview]]:
    found: dict[uuid.UUID, list[ReleaseReview]] = {i: [] for i in release_ids}
    if release_ids:
        for row in await MarketRepository(session).reviews_of_releases(release_ids):
            found[row.release_id].append(row)
    return found


async def _set_status(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    release_id: uuid.UUID,
    status: ReleaseStatus,
    reason: str,
) -> Release:
    release, listing = await _release(session, release_id)
    action = (
        "hub.market.release.yank" if status is ReleaseStatus.YANKED else "hub.market.release.revoke"
    )
    await authorizer.check(subject, action, {"org": str(listing.publisher_org)})
    why = _reason(reason)
    if release.status is ReleaseStatus.REVOKED or release.status is status:
        raise InvalidTransition(f"the release is {release.status.value} already")
    release.status, release.status_reason, release.status_changed_at = status, why, utcnow()
    await refresh_listing(session, listing)
    await append_entry(
        session, actor=subject, action=action, resource=f"market-release:{release.id}",
        outcome="ok", detail={"listing": listing.slug, "version": release.version, "reason": why},
    )  # fmt: skip
    log.warning(f"market_release_{status.value}", listing=listing.slug, version=release.version)
    return release


async def yank_release(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    release_id: uuid.UUID,
    reason: str,
) -> Release:
    """Hidden from search and from installs by listing; installs pinned to it still resolve."""
    return await _set_status(
        session, subject, authorizer=authorizer, release_id=release_id,
        status=ReleaseStatus.YANKED, reason=reason,
    )  # fmt: skip


async def revoke_release(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    release_id: uuid.UUID,
    reason: str,
) -> Release:
    """For security: no new installs, and every node that has it disables it and reports."""
    return await _set_status(
        session, subject, authorizer=authorizer, release_id=release_id,
        status=ReleaseStatus.REVOKED, reason=reason,
    )  # fmt: skip


async def get_release(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, release_id: uuid.UUID
) -> Release:
    await authorizer.check(subject, "hub.market.read")
    release = await MarketRepository(session).release(release_id)
    if release is None:
        raise ReleaseNotFound(f"no release {release_id}")
    return release


async def releases_of(
    session: AsyncSession, listing_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Release]]:
    """Every release of these listings, highest version first (yanked and revoked included: a
    listing's page says what happened to them)."""
    found: dict[uuid.UUID, list[Release]] = {i: [] for i in listing_ids}
    if listing_ids:
        for row in await MarketRepository(session).releases_of_listings(listing_ids):
            found[row.listing_id].append(row)
    for rows in found.values():
        rows.sort(key=lambda r: market.semver_key(r.version), reverse=True)
    return found


# --- listings and search ------------------------------------------------------------------


async def get_listing(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    listing_id: uuid.UUID | None = None,
    slug: str | None = None,
) -> Listing:
    await authorizer.check(subject, "hub.market.read")
    repository = MarketRepository(session)
    if listing_id is not None:
        listing = await repository.listing(listing_id)
    else:
        listing = await repository.listing_by_slug(slug or "")
    if listing is None:
        raise ListingNotFound(f"no listing {listing_id or slug}")
    return listing


@dataclass(frozen=True)
class SearchFilters:
    search: str | None = None
    kind: str | None = None
    industry: str | None = None
    license: str | None = None
    verified_only: bool = False
    compatible_with_node: str | None = None


@dataclass(frozen=True)
class Facets:
    kind: dict[str, int] = field(default_factory=dict)
    industry: dict[str, int] = field(default_factory=dict)
    license: dict[str, int] = field(default_factory=dict)
    verified: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchResult:
    page: Page[Listing]
    facets: Facets


async def search_listings(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    page: PageRequest,
    filters: SearchFilters,
) -> SearchResult:
    """Listings with a visible release (neither yanked nor revoked), newest first, with counts
    per facet over everything that matches."""
    await authorizer.check(subject, "hub.market.read")
    repository = MarketRepository(session)
    compatible = None
    if filters.compatible_with_node:
        node = await _node(session, filters.compatible_with_node)
        # Version ranges are PEP 440 specifier sets, which SQL cannot evaluate.
        compatible = [
            listing_id
            for listing_id, spec in await repository.visible_listings_ranges()
            if market.compatible_range(spec or "", node.yunfab_version)
        ]
    found, facets = await repository.search_listings(
        page,
        text=(filters.search or "").strip()[:100],
        kind=filters.kind,
        industry=filters.industry,
        license=filters.license,
        verified_only=filters.verified_only,
        among=compatible,
    )
    return SearchResult(page=found, facets=Facets(**facets))


# --- entitlements -------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    kind: EntitlementKind
    node: str | None = None
    organization_id: uuid.UUID | None = None
    expires_at: dt.datetime | None = None
    unit: str | None = None
    limit: int | None = None


async def grant_entitlement(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    listing_id: uuid.UUID,
    grant: Grant,
) -> Entitlement:
    repository = MarketRepository(session)
    listing = await repository.listing(listing_id)
    if listing is None:
        raise ListingNotFound(f"no listing {listing_id}")
    await authorizer.check(
        subject, "hub.market.entitlement.grant", {"org": str(listing.publisher_org)}
    )
    entitlement = Entitlement(listing_id=listing.id, kind=grant.kind, granted_by=subject.label)
    if grant.kind is EntitlementKind.FREE:
        if grant.node or grant.organization_id or grant.unit or grant.limit or grant.expires_at:
            raise InvalidInput("a free entitlement is for everyone: no node, organization or limit")
    elif grant.kind is EntitlementKind.PER_NODE:
        if not grant.node:
            raise InvalidInput("node: a per-node licence names the node")
        entitlement.node = (await _node(session, grant.node)).name
        entitlement.expires_at = grant.expires_at
    else:
        if grant.organization_id is None:
            raise InvalidInput("organizationId: required for subscriptions and usage")
        if await repository.organization(grant.organization_id) is None:
            raise OrganizationNotFound(f"no organization {grant.organization_id}")
        entitlement.organization_id = grant.organization_id
        if grant.kind is EntitlementKind.SUBSCRIPTION:
            if grant.expires_at is None or grant.expires_at <= utcnow():
                raise InvalidInput("expiresAt: a subscription ends in the future")
            entitlement.expires_at = grant.expires_at
        else:
            if not grant.unit or _SLUG.fullmatch(grant.unit) is None:
                raise InvalidInput("unit: a slug, e.g. inspection")
            if grant.limit is None or not 1 <= grant.limit <= 10**12:
                raise InvalidInput("limit: 1 or more units")
            entitlement.unit, entitlement.limit = grant.unit, grant.limit
            entitlement.expires_at = grant.expires_at
    repository.add(entitlement)
    await repository.flush()
    await append_entry(
        session, actor=subject, action="hub.market.entitlement.grant",
        resource=f"market-listing:{listing.slug}", outcome="ok",
        detail={"kind": grant.kind.value, "node": entitlement.node,
                "organization": str(entitlement.organization_id or "")},
    )  # fmt: skip
    return entitlement


async def entitlements_of(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, listing_id: uuid.UUID
) -> Sequence[Entitlement]:
    repository = MarketRepository(session)
    listing = await repository.listing(listing_id)
    if listing is None:
        raise ListingNotFound(f"no listing {listing_id}")
    await authorizer.check(
        subject, "hub.market.entitlement.grant", {"org": str(listing.publisher_org)}
    )
    return await repository.entitlements_of(listing_id)


async def _entitlement(
    session: AsyncSession, listing: Listing, node: RegionalNode, now: dt.datetime
) -> Entitlement | None:
    """The entitlement that lets this node take the listing, if any: free, the node's licence,
    or its operator's subscription or usage allowance."""
    for entitlement in await MarketRepository(session).entitlements_for_node(listing.id, node):
        if entitlement.expires_at is not None and entitlement.expires_at <= now:
            continue
        if entitlement.kind is EntitlementKind.USAGE and entitlement.used >= (
            entitlement.limit or 0
        ):
            continue
        return entitlement
    return None


# --- installations ------------------------------------------------------------------------


async def _node(session: AsyncSession, name: str) -> RegionalNode:
    node = await MarketRepository(session).node_by_name(name)
    if node is None:
        raise NodeNotFound(f"no node named {name!r} is registered")
    return node


def _node_resource(node: RegionalNode) -> dict[str, Any]:
    return {"org": str(node.operator_id) if node.operator_id else None, "node": node.name}


def _step(installation: Installation, state: InstallationState, by: str, why: str = "") -> None:
    installation.state = state
    installation.updated_at = utcnow()
    installation.history = [
        *installation.history,
        {"state": state.value, "at": installation.updated_at.isoformat(), "by": by, "why": why},
    ]


@dataclass(frozen=True)
class InstallRequest:
    node: str
    release_id: uuid.UUID | None = None
    listing: str | None = None
    version: str | None = None
    """With `listing`: pin this version; without: the latest visible release."""
    config: dict[str, Any] = field(default_factory=dict)


async def request_installation(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, request: InstallRequest
) -> Installation:
    """Requested, then approved at once when the node is entitled, compatible and the release
    not revoked; otherwise refused with the reason's code and nothing recorded."""
    node = await _node(session, request.node)
    await authorizer.check(subject, "hub.market.install.request", _node_resource(node))
    if len(market.canonical_json(request.config)) > MAX_CONFIG_BYTES:
        raise InvalidInput(f"config: at most {MAX_CONFIG_BYTES} bytes of JSON")
    release, listing, pinned = await _resolve(session, request)
    if release.status is ReleaseStatus.REVOKED:
        raise ReleaseRevoked(
            f"{listing.slug} {release.version} was revoked: {release.status_reason}"
        )
    manifest = manifest_of(release)
    if not market.compatible(manifest, node.yunfab_version):
        raise Incompatible(
            f"{listing.slug} {release.version} needs Yunfab {manifest.yunfab or 'any'}; node "
            f"{node.name} runs {node.yunfab_version or 'an unreported version'}",
            requires=manifest.yunfab,
            node_version=node.yunfab_version,
        )
    now = utcnow()
    entitlement = None
    if not manifest.is_free:
        entitlement = await _entitlement(session, listing, node, now)
        if entitlement is None:
            raise NotEntitled(f"node {node.name} holds no entitlement to {listing.slug}")
    repository = MarketRepository(session)
    active = await repository.active_installation_id(node.name, listing.id)
    if active is not None:
        raise AlreadyInstalled(
            f"node {node.name} has {listing.slug} already (installation {active}): remove it first"
        )
    installation = Installation(
        release_id=release.id,
        listing_id=listing.id,
        node=node.name,
        organization_id=node.operator_id,
        entitlement_id=entitlement.id if entitlement else None,
        config=request.config,
        pinned=pinned,
        requested_by=subject.label,
        history=[],
    )
    _step(installation, InstallationState.REQUESTED, subject.label)
    why = "free" if entitlement is None else f"entitlement {entitlement.kind.value}"
    _step(installation, InstallationState.APPROVED, "hub", f"compatible; {why}")
    repository.add(installation)
    await repository.flush()
    await append_entry(
        session, actor=subject, action="hub.market.install.request",
        resource=f"market-installation:{installation.id}", outcome="ok",
        detail={"node": node.name, "listing": listing.slug, "version": release.version,
                "pinned": pinned},
    )  # fmt: skip
    return installation


async def _resolve(session: AsyncSession, request: InstallRequest) -> tuple[Release, Listing, bool]:
    repository = MarketRepository(session)
    if request.release_id is not None:
        release = await repository.release(request.release_id)
        if release is None:
            raise ReleaseNotFound(f"no release {request.release_id}")
        listing = await repository.listing(release.listing_id)
        assert listing is not None
        return release, listing, True
    listing = await repository.listing_by_slug(request.listing or "")
    if listing is None:
        raise ListingNotFound(f"no listing {request.listing!r}")
    if request.version is not None:
        release = await repository.release_of_version(listing.id, request.version)
        if release is None:
            raise ReleaseNotFound(f"{listing.slug} has no version {request.version}")
        return release, listing, True
    if listing.latest_release_id is None:
        raise ReleaseNotFound(f"{listing.slug} has no release that is neither yanked nor revoked")
    release = await repository.release(listing.latest_release_id)
    assert release is not None
    return release, listing, False


async def _installation(session: AsyncSession, installation_id: uuid.UUID) -> Installation:
    installation = await MarketRepository(session).installation(installation_id, for_update=True)
    if installation is None:
        raise InstallationNotFound(f"no installation {installation_id}")
    return installation


async def remove_installation(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    installation_id: uuid.UUID,
) -> Installation:
    """What is on the node is asked off it (the node reports `removed`); what never got there
    (failed, disabled) is removed at once."""
    installation = await _installation(session, installation_id)
    org = str(installation.organization_id) if installation.organization_id else None
    await authorizer.check(
        subject, "hub.market.install.remove", {"org": org, "node": installation.node}
    )
    if installation.state in (InstallationState.APPROVED, InstallationState.INSTALLED):
        _step(installation, InstallationState.REMOVING, subject.label)
    elif installation.state in (
        InstallationState.FAILED,
        InstallationState.DISABLED,
        InstallationState.REQUESTED,
    ):
        _step(installation, InstallationState.REMOVED, subject.label)
    else:
        raise InvalidTransition(f"the installation is {installation.state.value}")
    return installation


async def list_installations(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    node: str,
    page: PageRequest,
    status: InstallationState | None = None,
) -> Page[Installation]:
    """A node's installations, newest first, for its operator."""
    target = await _node(session, node)
    await authorizer.check(subject, "hub.market.install.read", _node_resource(target))
    return await MarketRepository(session).installations_page(target.name, page, state=status)


@dataclass(frozen=True)
class NodeInstallation:
    installation: Installation
    release: Release
    listing: Listing
    reviews: list[ReleaseReview]


async def node_installations(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, node: str
) -> list[NodeInstallation]:
    """What a node must act on: releases to install or keep, revoked ones to disable, removals."""
    await authorizer.check(subject, "hub.market.node.sync", {"node": node})
    rows = await MarketRepository(session).active_installations_on(node)
    reviews = await reviews_of(session, [release.id for _, release, _ in rows])
    return [
        NodeInstallation(installation=i, release=r, listing=li, reviews=reviews[r.id])
        for i, r, li in rows
    ]


_REPORTS: dict[InstallationState, tuple[InstallationState, ...]] = {
    InstallationState.INSTALLED: (InstallationState.APPROVED, InstallationState.INSTALLED),
    InstallationState.FAILED: (
        InstallationState.APPROVED,
        InstallationState.INSTALLED,
        InstallationState.FAILED,
    ),
    InstallationState.DISABLED: (
        InstallationState.APPROVED,
        InstallationState.INSTALLED,
        InstallationState.REMOVING,
        InstallationState.DISABLED,
    ),
    InstallationState.REMOVED: (
        InstallationState.APPROVED,
        InstallationState.INSTALLED,
        InstallationState.REMOVING,
        InstallationState.FAILED,
        InstallationState.DISABLED,
        InstallationState.REMOVED,
    ),
}


async def report(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    installation_id: uuid.UUID,
    state: InstallationState,
    detail: str,
) -> Installation:
    """The node says what it did. `installed` only for a release that is not revoked; `disabled`
    only acknowledges a revoked release. The same report twice changes nothing."""
    installation = await _installation(session, installation_id)
    await authorizer.check(subject, "hub.market.node.sync", {"node": installation.node})
    allowed_from = _REPORTS.get(state)
    if allowed_from is None:
        raise InvalidInput("state: installed, failed, disabled or removed")
    release = await MarketRepository(session).release(installation.release_id)
    assert release is not None
    revoked = release.status is ReleaseStatus.REVOKED
    if state is InstallationState.INSTALLED and revoked:
        raise ReleaseRevoked(f"release {release.id} was revoked: disable it")
    if state is InstallationState.DISABLED and not revoked:
        raise InvalidTransition("disabled acknowledges a revoked release; this one is not")
    if installation.state not in allowed_from:
        raise InvalidTransition(
            f"the installation is {installation.state.value}; it cannot become {state.value}"
        )
    installation.detail = detail[:2000] or None
    if installation.state is not state:
        _step(installation, state, subject.label, detail[:200])
    return installation


@dataclass(frozen=True)
class Usage:
    used: int
    limit: int | None
    exceeded: bool


async def record_usage(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    installation_id: uuid.UUID,
    unit: str,
    count: int,
    key: str,
) -> Usage:
    """Count units against the installation's usage entitlement (or just count them, where
    there is none). A key seen before is not counted again."""
    installation = await _installation(session, installation_id)
    await authorizer.check(subject, "hub.market.node.sync", {"node": installation.node})
    if _SLUG.fullmatch(unit) is None or not 1 <= count <= 10**9 or not 1 <= len(key) <= 128:
        raise InvalidInput("unit: a slug; count: 1 or more; key: 1 to 128 characters")
    if installation.state not in (InstallationState.INSTALLED, InstallationState.REMOVING):
        raise InvalidTransition(f"the installation is {installation.state.value}, not installed")
    repository = MarketRepository(session)
    entitlement = None
    if installation.entitlement_id is not None:
        entitlement = await repository.entitlement(installation.entitlement_id, for_update=True)
    metered = (
        entitlement
        if entitlement is not None
        and entitlement.kind is EntitlementKind.USAGE
        and entitlement.unit == unit
        else None
    )
    seen = await repository.usage_event_id(installation.id, key)
    if seen is None:
        repository.add(
            UsageEvent(
                installation_id=installation.id,
                entitlement_id=metered.id if metered else None,
                unit=unit,
                count=count,
                key=key,
            )
        )
        if metered is not None:
            metered.used += count
        await repository.flush()
    if metered is not None:
        return Usage(
            used=metered.used,
            limit=metered.limit,
            exceeded=metered.used > (metered.limit or 0),
        )
    used = await repository.usage_total(installation.id, unit)
    return Usage(used=used, limit=None, exceeded=False)


async def artifact_for_node(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, digest: str
) -> Release:
    """A node downloads an artifact only for a release it has an installation of."""
    await authorizer.check(subject, "hub.market.node.sync", {"node": subject.node})
    release = await MarketRepository(session).release_installed_on(digest, subject.node or "")
    if release is None:
        raise ArtifactNotFound(f"no artifact {digest} for this node")
    return release


# --- reviews ------------------------------------------------------------------------------


async def review_listing(
    session: AsyncSession,
    subject: Subject,
    *,
    authorizer: Authorizer,
    listing_id: uuid.UUID,
    rating: int,
    text: str,
) -> ListingReview:
    repository = MarketRepository(session)
    listing = await repository.listing(listing_id, for_update=True)
    if listing is None:
        raise ListingNotFound(f"no listing {listing_id}")
    await authorizer.check(subject, "hub.market.listing.review", {"org": subject.org_id})
    if not 1 <= rating <= 5 or len(text) > 4000:
        raise InvalidInput("rating: 1 to 5; text: at most 4000 characters")
    org = _org_uuid(subject)
    histories = await repository.installation_histories(listing.id, org)
    if not any(
        step.get("state") == InstallationState.INSTALLED.value
        for history in histories
        for step in history
    ):
        raise NotInstalled("only organizations that installed a listing review it")
    review = await repository.listing_review_by(listing.id, org)
    if review is None:
        review = ListingReview(
            listing_id=listing.id, organization_id=org, rating=rating, text=text,
            author=subject.label,
        )  # fmt: skip
        repository.add(review)
        listing.rating_count += 1
        listing.rating_sum += rating
    else:
        listing.rating_sum += rating - review.rating
        review.rating, review.text, review.author = rating, text, subject.label
        review.updated_at = utcnow()
    await repository.flush()
    return review


async def listing_reviews(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, listing_id: uuid.UUID,
    page: PageRequest,
) -> Page[ListingReview]:  # fmt: skip
    await authorizer.check(subject, "hub.market.read")
    return await MarketRepository(session).listing_reviews_page(listing_id, page)


async def releases_by_id(
    session: AsyncSession, release_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Release]:
    if not release_ids:
        return {}
    rows = await MarketRepository(session).releases_by_id(release_ids)
    return {row.id: row for row in rows}
