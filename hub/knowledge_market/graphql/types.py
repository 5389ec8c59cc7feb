"""The market's GraphQL types, built from the ORM rows; relations through per-request loaders."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from hub.federation.models import NodeStatus, RegionalNode
from hub.graphql.context import HubContext
from hub.knowledge_market import service
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
)
from yunfab import market
from yunfab.graphql.dataloaders import Loader
from yunfab.graphql.pagination import Connection
from yunfab.graphql.resolvers import page_request, query

strawberry.enum(KeyKind, name="MarketKeyKind")
strawberry.enum(KeyStatus, name="MarketKeyStatus")
strawberry.enum(ReleaseStatus, name="MarketReleaseStatus")
strawberry.enum(EntitlementKind, name="MarketEntitlementKind")
strawberry.enum(InstallationState, name="MarketInstallationState")


@strawberry.type(name="MarketKey", description="An Ed25519 key releases are signed with.")
class MarketKeyType:
    id: uuid.UUID
    organization_id: uuid.UUID
    kind: KeyKind
    key_id: str
    public_key: str = strawberry.field(description="The raw 32-byte key, base64.")
    status: KeyStatus
    created_at: dt.datetime
    retired_at: dt.datetime | None

    @classmethod
    def from_model(cls, row: MarketKey) -> MarketKeyType:
        return cls(
            id=row.id, organization_id=row.organization_id, kind=row.kind, key_id=row.key_id,
            public_key=row.public_key, status=row.status, created_at=row.created_at,
            retired_at=row.retired_at,
        )  # fmt: skip


@strawberry.type(name="MarketPublisher", description="An organization verified to publish.")
class MarketPublisherType:
    organization_id: uuid.UUID
    verified_at: dt.datetime
    verified_by: str

    @classmethod
    def from_model(cls, row: MarketPublisher) -> MarketPublisherType:
        return cls(
            organization_id=row.organization_id,
            verified_at=row.verified_at,
            verified_by=row.verified_by,
        )


@strawberry.type(
    name="MarketNode",
    description="A node its operator may install releases on, with what compatibility is "
    "checked against.",
)
class MarketNodeType:
    name: str
    region: str
    industry: str
    online: bool
    yunfab_version: str | None = strawberry.field(
        description="The Yunfab version the node last registered with; none reported: only "
        "releases without a version range are compatible."
    )

    @classmethod
    def from_model(cls, row: RegionalNode) -> MarketNodeType:
        return cls(
            name=row.name, region=row.region, industry=row.industry,
            online=row.status is NodeStatus.ONLINE, yunfab_version=row.yunfab_version,
        )  # fmt: skip


@strawberry.type(name="MarketCountersignature")
class CountersignatureType:
    key_id: str
    signature: str
    reviewer: str
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: ReleaseReview) -> CountersignatureType:
        return cls(
            key_id=row.key_id, signature=row.signature, reviewer=row.reviewer,
            created_at=row.created_at,
        )  # fmt: skip


class CountersignaturesLoader(Loader[uuid.UUID, list[CountersignatureType]]):
    async def batch_load(self, keys: list[uuid.UUID]) -> list[list[CountersignatureType]]:
        found = await service.reviews_of(self.context.session, keys)
        return [[CountersignatureType.from_model(r) for r in found[i]] for i in keys]


@strawberry.enum(name="MarketPricingModel")
class PricingModel(enum.Enum):
    FREE = "free"
    PER_NODE = "per_node"
    SUBSCRIPTION = "subscription"
    USAGE = "usage"


@strawberry.type(name="MarketPricing", description="How a release is paid for; by `model`.")
class PricingType:
    model: PricingModel
    price_cny: int | None = strawberry.field(description="PER_NODE and SUBSCRIPTION.")
    period_days: int | None = strawberry.field(description="SUBSCRIPTION.")
    unit: str | None = strawberry.field(description="USAGE: what is counted.")
    included: int | None = strawberry.field(description="USAGE: units included.")


@strawberry.type(
    name="MarketManifest",
    description="A release's manifest as the market defines it; `content` is the part each kind "
    "defines for itself.",
)
class ManifestType:
    name: str
    version: str
    kind: str
    yunfab: str = strawberry.field(description="The Yunfab versions it works with (PEP 440).")
    license: str = strawberry.field(description="An SPDX licence id or LicenseRef-...")
    permissions: list[str]
    pricing: PricingType
    summary: str
    description: str
    industry: str
    title: str | None
    tags: list[str]
    content: JSON = strawberry.field(
        description="The kind's own part (a defect model's sku and format, a scheduling "
        "template's product...): publishers define it, so JSON rather than a fixed type."
    )

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ManifestType:
        manifest = market.Manifest.model_validate(document)
        pricing = manifest.pricing
        return cls(
            name=manifest.name,
            version=manifest.version,
            kind=manifest.kind,
            yunfab=manifest.yunfab,
            license=manifest.license,
            permissions=list(manifest.permissions),
            pricing=PricingType(
                model=PricingModel(pricing.model),
                price_cny=getattr(pricing, "price_cny", None),
                period_days=getattr(pricing, "period_days", None),
                unit=getattr(pricing, "unit", None),
                included=getattr(pricing, "included", None),
            ),
            summary=manifest.summary,
            description=manifest.description,
            industry=manifest.industry,
            title=manifest.title,
            tags=list(manifest.tags),
            content=manifest.content,  # type: ignore[arg-type]
        )


@strawberry.type(name="MarketRelease", description="One immutable, signed version of a listing.")
class MarketReleaseType:
    id: uuid.UUID
    listing_id: uuid.UUID
    version: str
    manifest: JSON = strawberry.field(
        description="The normalised manifest exactly as signed: a verifier recomputes the "
        "signed bytes from it (canonical JSON), which a typed view could not give back. Read "
        "`manifestFields` for the typed view."
    )
    manifest_fields: ManifestType
    artifact_sha256: str
    artifact_size: int
    signature: str
    key_id: str
    status: ReleaseStatus
    status_reason: str | None
    status_changed_at: dt.datetime | None
    verified: bool = strawberry.field(description="A hub reviewer countersigned it.")
    published_by: str
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: Release) -> MarketReleaseType:
        return cls(
            id=row.id, listing_id=row.listing_id, version=row.version,
            manifest=row.manifest,  # type: ignore[arg-type]
            manifest_fields=ManifestType.from_document(row.manifest),
            artifact_sha256=row.artifact_sha256, artifact_size=row.artifact_size,
            signature=row.signature, key_id=row.key_id, status=row.status,
            status_reason=row.status_reason, status_changed_at=row.status_changed_at,
            verified=row.verified, published_by=row.published_by, created_at=row.created_at,
        )  # fmt: skip

    @strawberry.field(description="Reviewers' countersignatures over its review payload.")
    async def countersignatures(self, info: Info[HubContext, None]) -> list[CountersignatureType]:
        return await CountersignaturesLoader.of(info).load(self.id)


class ReleasesLoader(Loader[uuid.UUID, list[Release]]):
    """A listing's releases."""

    async def batch_load(self, keys: list[uuid.UUID]) -> list[list[Release]]:
        found = await service.releases_of(self.context.session, keys)
        return [found[i] for i in keys]


@strawberry.type(name="MarketListingReview", description="A rating by an installer.")
class MarketListingReviewType:
    id: uuid.UUID
    listing_id: uuid.UUID
    organization_id: uuid.UUID
    rating: int
    text: str
    author: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_model(cls, row: ListingReview) -> MarketListingReviewType:
        return cls(
            id=row.id, listing_id=row.listing_id, organization_id=row.organization_id,
            rating=row.rating, text=row.text, author=row.author, created_at=row.created_at,
            updated_at=row.updated_at,
        )  # fmt: skip


@strawberry.type(name="MarketListing", description="A publisher's app or knowledge on the market.")
class MarketListingType:
    id: uuid.UUID
    slug: str
    kind: str
    title: str
    summary: str
    industry: str
    tags: list[str]
    publisher_organization_id: uuid.UUID
    latest_version: str | None = strawberry.field(
        description="The highest version neither yanked nor revoked."
    )
    license: str | None
    yunfab_range: str | None = strawberry.field(description="PEP 440 range of Yunfab versions.")
    verified: bool
    free: bool
    rating_count: int
    rating_average: float | None
    created_at: dt.datetime
    updated_at: dt.datetime
    latest_release_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_model(cls, row: Listing) -> MarketListingType:
        return cls(
            id=row.id, slug=row.slug, kind=row.kind, title=row.title, summary=row.summary,
            industry=row.industry, tags=list(row.tags), publisher_organization_id=row.publisher_org,
            latest_version=row.latest_version, license=row.license, yunfab_range=row.yunfab_range,
            verified=row.verified, free=row.free, rating_count=row.rating_count,
            rating_average=row.rating_sum / row.rating_count if row.rating_count else None,
            created_at=row.created_at, updated_at=row.updated_at,
            latest_release_id=row.latest_release_id,
        )  # fmt: skip

    @strawberry.field(description="Every release, highest version first, yanked and revoked too.")
    async def releases(self, info: Info[HubContext, None]) -> list[MarketReleaseType]:
        return [
            MarketReleaseType.from_model(r) for r in await ReleasesLoader.of(info).load(self.id)
        ]

    @strawberry.field
    async def latest_release(self, info: Info[HubContext, None]) -> MarketReleaseType | None:
        for release in await ReleasesLoader.of(info).load(self.id):
            if release.id == self.latest_release_id:
                return MarketReleaseType.from_model(release)
        return None

    @strawberry.field(description="Reviews by organizations that installed it, newest first.")
    async def reviews(
        self, info: Info[HubContext, None], first: int = 20, after: str | None = None
    ) -> Connection[MarketListingReviewType]:
        context = info.context
        page = await query(
            context, service.listing_reviews, authorizer=context.authorizer, listing_id=self.id,
            page=page_request(context, first, after, arity=2),
        )  # fmt: skip
        return Connection[MarketListingReviewType].from_page(
            page,
            key=lambda row: (row.created_at.isoformat(), str(row.id)),
            node=MarketListingReviewType.from_model,
            after=after,
        )


@strawberry.type(name="MarketFacetCount")
class FacetCount:
    value: str
    count: int


@strawberry.type(name="MarketFacets", description="How many matching listings per value.")
class FacetsType:
    kind: list[FacetCount]
    industry: list[FacetCount]
    license: list[FacetCount]
    verified: list[FacetCount]

    @classmethod
    def from_facets(cls, facets: service.Facets) -> FacetsType:
        def counts(values: dict[str, int]) -> list[FacetCount]:
            return [FacetCount(value=v, count=n) for v, n in sorted(values.items())]

        return cls(
            kind=counts(facets.kind),
            industry=counts(facets.industry),
            license=counts(facets.license),
            verified=counts(facets.verified),
        )


@strawberry.type(name="MarketSearch")
class MarketSearchType:
    listings: Connection[MarketListingType]
    facets: FacetsType


@strawberry.type(name="MarketEntitlement", description="A right to install a listing.")
class MarketEntitlementType:
    id: uuid.UUID
    listing_id: uuid.UUID
    kind: EntitlementKind
    node: str | None
    organization_id: uuid.UUID | None
    expires_at: dt.datetime | None
    unit: str | None
    limit: int | None
    used: int
    granted_by: str
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: Entitlement) -> MarketEntitlementType:
        return cls(
            id=row.id, listing_id=row.listing_id, kind=row.kind, node=row.node,
            organization_id=row.organization_id, expires_at=row.expires_at, unit=row.unit,
            limit=row.limit, used=row.used, granted_by=row.granted_by, created_at=row.created_at,
        )  # fmt: skip


class ReleaseLoader(Loader[uuid.UUID, Release | None]):
    async def batch_load(self, keys: list[uuid.UUID]) -> list[Release | None]:
        found = await service.releases_by_id(self.context.session, keys)
        return [found.get(i) for i in keys]


@strawberry.type(name="MarketInstallationStep", description="One transition of an installation.")
class InstallationStepType:
    status: InstallationState
    at: dt.datetime
    by: str = strawberry.field(description='Who moved it: a person, "hub" or the node.')
    why: str

    @classmethod
    def from_document(cls, step: dict[str, Any]) -> InstallationStepType:
        return cls(
            status=InstallationState(step["state"]),
            at=dt.datetime.fromisoformat(step["at"]),
            by=str(step.get("by", "")),
            why=str(step.get("why") or ""),
        )


@strawberry.type(name="MarketInstallation", description="A release on a node.")
class MarketInstallationType:
    id: uuid.UUID
    release_id: uuid.UUID
    listing_id: uuid.UUID
    node: str
    organization_id: uuid.UUID | None
    status: InstallationState
    state: InstallationState = strawberry.field(
        deprecation_reason="Read `status`; every hub type names its state so."
    )
    config: JSON = strawberry.field(
        description="The settings the installer gave, passed to the release as they are: each "
        "release defines its own, so JSON rather than a fixed type."
    )
    pinned: bool = strawberry.field(description="Asked for by release: resolves even if yanked.")
    detail: str | None
    history: list[InstallationStepType]
    history_json: JSON = strawberry.field(
        deprecation_reason="Read the typed `history`; this JSON form goes in the next release."
    )
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_model(cls, row: Installation) -> MarketInstallationType:
        return cls(
            id=row.id, release_id=row.release_id, listing_id=row.listing_id, node=row.node,
            organization_id=row.organization_id, status=row.state, state=row.state,
            config=row.config,  # type: ignore[arg-type]
            pinned=row.pinned, detail=row.detail,
            history=[InstallationStepType.from_document(step) for step in row.history],
            history_json=row.history,  # type: ignore[arg-type]
            created_at=row.created_at, updated_at=row.updated_at,
        )  # fmt: skip

    @strawberry.field
    async def release(self, info: Info[HubContext, None]) -> MarketReleaseType | None:
        row = await ReleaseLoader.of(info).load(self.release_id)
        return MarketReleaseType.from_model(row) if row else None
