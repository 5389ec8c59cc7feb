"""All SQL of the knowledge market: keys, publishers, listings, releases and their reviews,
entitlements, installations and usage. The service (service.py) holds the rules and calls these."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from hub.federation.models import RegionalNode
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
    UsageEvent,
)
from hub.organizations.models import Organization
from yunfab.graphql.pagination import Page, PageRequest, newest_first
from yunfab.repository import Repository

ACTIVE_STATES = (
    InstallationState.APPROVED,
    InstallationState.INSTALLED,
    InstallationState.REMOVING,
)
"""An installation in these states is on (or going to, or leaving) its node."""


def _text_match(dialect: str, search: str) -> ColumnElement[bool]:
    """PostgreSQL full-text (the `simple` configuration: product names and Chinese text are not
    stemmed); elsewhere every word must appear in the same text."""
    if dialect == "postgresql":
        return func.to_tsvector("simple", Listing.search_text).bool_op("@@")(
            func.plainto_tsquery("simple", search)
        )
    words = [w for w in re.split(r"\s+", search.lower()) if w][:8]
    escaped = [w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in words]
    return and_(*(Listing.search_text.like(f"%{w}%", escape="\\") for w in escaped))


class MarketRepository(Repository):
    # --- keys and publishers ----------------------------------------------------------------

    async def key(self, kind: KeyKind, key_id: str) -> MarketKey | None:
        return await self.first(
            select(MarketKey).where(MarketKey.kind == kind, MarketKey.key_id == key_id)
        )

    async def active_key_of(
        self, organization_id: uuid.UUID, kind: KeyKind, key_id: str
    ) -> MarketKey | None:
        """The organization's key that new signatures of `kind` verify with (not retired)."""
        return await self.first(
            select(MarketKey).where(
                MarketKey.kind == kind,
                MarketKey.key_id == key_id,
                MarketKey.organization_id == organization_id,
                MarketKey.status == KeyStatus.ACTIVE,
            )
        )

    async def verified_publishers_keys(self) -> list[MarketKey]:
        return await self.all(
            select(MarketKey)
            .join(MarketPublisher, MarketPublisher.organization_id == MarketKey.organization_id)
            .where(MarketKey.kind == KeyKind.PUBLISHER)
            .order_by(MarketKey.created_at, MarketKey.key_id)
        )

    async def reviewer_keys(self) -> list[MarketKey]:
        return await self.all(
            select(MarketKey)
            .where(MarketKey.kind == KeyKind.REVIEWER)
            .order_by(MarketKey.created_at, MarketKey.key_id)
        )

    async def keys_of(self, organization_id: uuid.UUID) -> list[MarketKey]:
        query = select(MarketKey).where(MarketKey.organization_id == organization_id)
        return await self.all(query.order_by(MarketKey.created_at))

    async def organization(self, organization_id: uuid.UUID) -> Organization | None:
        return await self.get(Organization, organization_id)

    async def publisher(self, organization_id: uuid.UUID) -> MarketPublisher | None:
        return await self.get(MarketPublisher, organization_id)

    async def publishers_among(
        self, organization_ids: Sequence[uuid.UUID]
    ) -> list[MarketPublisher]:
        query = select(MarketPublisher).where(
            MarketPublisher.organization_id.in_(set(organization_ids))
        )
        return await self.all(query.order_by(MarketPublisher.verified_at))

    # --- nodes ------------------------------------------------------------------------------

    async def node_by_name(self, name: str) -> RegionalNode | None:
        return await self.first(select(RegionalNode).where(RegionalNode.name == name))

    async def nodes_operated_by(self, organization_id: uuid.UUID, limit: int) -> list[RegionalNode]:
        return await self.all(
            select(RegionalNode)
            .where(RegionalNode.operator_id == organization_id)
            .order_by(RegionalNode.name)
            .limit(limit)
        )

    # --- listings and releases --------------------------------------------------------------

    async def listing(self, listing_id: uuid.UUID, *, for_update: bool = False) -> Listing | None:
        return await self.get(Listing, listing_id, for_update=for_update)

    async def listing_by_slug(self, slug: str, *, for_update: bool = False) -> Listing | None:
        query = select(Listing).where(Listing.slug == slug)
        if for_update:
            query = query.with_for_update()
        return await self.first(query)

    async def release(self, release_id: uuid.UUID, *, for_update: bool = False) -> Release | None:
        return await self.get(Release, release_id, for_update=for_update)

    async def release_of_version(self, listing_id: uuid.UUID, version: str) -> Release | None:
        return await self.first(
            select(Release).where(Release.listing_id == listing_id, Release.version == version)
        )

    async def release_of_slug(self, slug: str, version: str) -> Release | None:
        """The release `version` of the listing `slug`."""
        return await self.first(
            select(Release)
            .join(Listing, Listing.id == Release.listing_id)
            .where(Listing.slug == slug, Release.version == version)
        )

    async def release_id_of_version(self, listing_id: uuid.UUID, version: str) -> uuid.UUID | None:
        return await self.first(
            select(Release.id).where(Release.listing_id == listing_id, Release.version == version)
        )

    async def releases_of_listing(self, listing_id: uuid.UUID) -> list[Release]:
        return await self.all(select(Release).where(Release.listing_id == listing_id))

    async def releases_of_listings(self, listing_ids: Sequence[uuid.UUID]) -> list[Release]:
        return await self.all(select(Release).where(Release.listing_id.in_(listing_ids)))

    async def releases_by_id(self, release_ids: Sequence[uuid.UUID]) -> list[Release]:
        return await self.all(select(Release).where(Release.id.in_(release_ids)))

    async def review_by_key(self, release_id: uuid.UUID, key_id: str) -> ReleaseReview | None:
        return await self.first(
            select(ReleaseReview).where(
                ReleaseReview.release_id == release_id, ReleaseReview.key_id == key_id
            )
        )

    async def reviews_of_releases(self, release_ids: Sequence[uuid.UUID]) -> list[ReleaseReview]:
        return await self.all(
            select(ReleaseReview)
            .where(ReleaseReview.release_id.in_(release_ids))
            .order_by(ReleaseReview.created_at, ReleaseReview.key_id)
        )

    async def visible_listings_ranges(self) -> list[tuple[uuid.UUID, str | None]]:
        """Each listing with a visible release, with the Yunfab versions its latest accepts."""
        ranges = await self.session.execute(
            select(Listing.id, Listing.yunfab_range).where(Listing.latest_release_id.is_not(None))
        )
        return [(listing_id, spec) for listing_id, spec in ranges.all()]

    async def search_listings(
        self,
        request: PageRequest,
        *,
        text: str,
        kind: str | None,
        industry: str | None,
        license: str | None,
        verified_only: bool,
        among: list[uuid.UUID] | None,
    ) -> tuple[Page[Listing], dict[str, dict[str, int]]]:
        """Listings with a visible release matching every given condition, newest first, and
        their counts per facet (kind, industry, license, verified) over all that match."""
        conditions: list[ColumnElement[bool]] = [Listing.latest_release_id.is_not(None)]
        if text:
            dialect = (await self.session.connection()).dialect.name
            conditions.append(_text_match(dialect, text))
        if kind:
            conditions.append(Listing.kind == kind)
        if industry:
            conditions.append(Listing.industry == industry)
        if license:
            conditions.append(Listing.license == license)
        if verified_only:
            conditions.append(Listing.verified.is_(True))
        if among is not None:
            conditions.append(Listing.id.in_(among))
        query = select(Listing).where(*conditions)
        rows = (
            await self.session.scalars(
                newest_first(query, Listing.created_at, Listing.id, request.after).limit(
                    request.limit + 1
                )
            )
        ).all()
        matching = query.subquery()

        async def count() -> int:
            return await self.session.scalar(select(func.count()).select_from(matching)) or 0

        async def facet(column: Any) -> dict[str, int]:
            result = await self.session.execute(
                select(column, func.count()).select_from(matching).group_by(column)
            )
            return {
                (str(value).lower() if isinstance(value, bool) else str(value)): number
                for value, number in result.all()
                if value is not None
            }

        facets = {
            "kind": await facet(matching.c.kind),
            "industry": await facet(matching.c.industry),
            "license": await facet(matching.c.license),
            "verified": await facet(matching.c.verified),
        }
        return Page.from_rows(rows, request.limit, count), facets

    # --- entitlements -----------------------------------------------------------------------

    async def entitlement(
        self, entitlement_id: uuid.UUID, *, for_update: bool = False
    ) -> Entitlement | None:
        return await self.get(Entitlement, entitlement_id, for_update=for_update)

    async def entitlements_of(self, listing_id: uuid.UUID) -> list[Entitlement]:
        query = select(Entitlement).where(Entitlement.listing_id == listing_id)
        return await self.all(query.order_by(Entitlement.created_at))

    async def entitlements_for_node(
        self, listing_id: uuid.UUID, node: RegionalNode
    ) -> list[Entitlement]:
        """The listing's entitlements that could let this node take it, oldest first: free ones,
        the node's licences, its operator's subscriptions and usage allowances."""
        who = [Entitlement.kind == EntitlementKind.FREE]
        who.append(
            and_(Entitlement.kind == EntitlementKind.PER_NODE, Entitlement.node == node.name)
        )
        if node.operator_id is not None:
            who.append(
                and_(
                    Entitlement.kind.in_([EntitlementKind.SUBSCRIPTION, EntitlementKind.USAGE]),
                    Entitlement.organization_id == node.operator_id,
                )
            )
        return await self.all(
            select(Entitlement)
            .where(Entitlement.listing_id == listing_id, or_(*who))
            .order_by(Entitlement.created_at)
        )

    # --- installations and usage ------------------------------------------------------------

    async def installation(
        self, installation_id: uuid.UUID, *, for_update: bool = False
    ) -> Installation | None:
        return await self.get(Installation, installation_id, for_update=for_update)

    async def active_installation_id(self, node: str, listing_id: uuid.UUID) -> uuid.UUID | None:
        return await self.first(
            select(Installation.id).where(
                Installation.node == node,
                Installation.listing_id == listing_id,
                Installation.state.in_(ACTIVE_STATES),
            )
        )

    async def installations_page(
        self, node: str, request: PageRequest, *, state: InstallationState | None = None
    ) -> Page[Installation]:
        query = select(Installation).where(Installation.node == node)
        if state is not None:
            query = query.where(Installation.state == state)
        return await self.newest_first_page(
            query, Installation.created_at, Installation.id, request
        )

    async def active_installations_on(
        self, node: str
    ) -> list[tuple[Installation, Release, Listing]]:
        """The node's active installations, oldest first, each with its release and listing."""
        rows = await self.session.execute(
            select(Installation, Release, Listing)
            .join(Release, Release.id == Installation.release_id)
            .join(Listing, Listing.id == Installation.listing_id)
            .where(Installation.node == node, Installation.state.in_(ACTIVE_STATES))
            .order_by(Installation.created_at, Installation.id)
        )
        return [(i, r, li) for i, r, li in rows.all()]

    async def installation_histories(
        self, listing_id: uuid.UUID, organization_id: uuid.UUID
    ) -> list[list[dict[str, Any]]]:
        """The history of every installation of the listing by the organization."""
        return await self.all(
            select(Installation.history).where(
                Installation.listing_id == listing_id,
                Installation.organization_id == organization_id,
            )
        )

    async def release_installed_on(self, digest: str, node: str) -> Release | None:
        """A release with this artifact that the node has an active installation of."""
        return await self.first(
            select(Release)
            .join(Installation, Installation.release_id == Release.id)
            .where(
                Release.artifact_sha256 == digest,
                Installation.node == node,
                Installation.state.in_(ACTIVE_STATES),
            )
            .limit(1)
        )

    async def usage_event_id(self, installation_id: uuid.UUID, key: str) -> uuid.UUID | None:
        return await self.first(
            select(UsageEvent.id).where(
                UsageEvent.installation_id == installation_id, UsageEvent.key == key
            )
        )

    async def usage_total(self, installation_id: uuid.UUID, unit: str) -> int:
        used = await self.session.scalar(
            select(func.coalesce(func.sum(UsageEvent.count), 0)).where(
                UsageEvent.installation_id == installation_id, UsageEvent.unit == unit
            )
        )
        return int(used or 0)

    # --- listing reviews --------------------------------------------------------------------

    async def listing_review_by(
        self, listing_id: uuid.UUID, organization_id: uuid.UUID
    ) -> ListingReview | None:
        return await self.first(
            select(ListingReview).where(
                ListingReview.listing_id == listing_id,
                ListingReview.organization_id == organization_id,
            )
        )

    async def listing_reviews_page(
        self, listing_id: uuid.UUID, request: PageRequest
    ) -> Page[ListingReview]:
        query = select(ListingReview).where(ListingReview.listing_id == listing_id)
        return await self.newest_first_page(
            query, ListingReview.created_at, ListingReview.id, request
        )
