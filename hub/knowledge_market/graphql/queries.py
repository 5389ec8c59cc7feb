"""The market in the hub's GraphQL API: search with facets, listings, releases, installations."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from hub.graphql.context import HubContext
from hub.knowledge_market import service
from hub.knowledge_market.graphql.types import (
    FacetsType,
    MarketEntitlementType,
    MarketInstallationType,
    MarketKeyType,
    MarketListingType,
    MarketNodeType,
    MarketPublisherType,
    MarketReleaseType,
    MarketSearchType,
)
from hub.knowledge_market.models import InstallationState
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Connection
from yunfab.graphql.resolvers import page_request, query


@strawberry.type
class MarketQuery:
    @strawberry.field(
        description="Listings with a release neither yanked nor revoked, newest first, with "
        "facet counts over all matches. `search` is full-text on PostgreSQL (words in title, "
        "summary, tags, name), every word as a substring elsewhere."
    )
    async def market_listings(
        self,
        info: Info[HubContext, None],
        search: str | None = None,
        kind: str | None = None,
        industry: str | None = None,
        license: str | None = None,
        verified_only: bool = False,
        compatible_with_node: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> MarketSearchType:
        context = info.context
        if any(len(v or "") > 100 for v in (search, kind, industry, license, compatible_with_node)):
            raise InvalidInput("filters are at most 100 characters")
        result = await query(
            context, service.search_listings, authorizer=context.authorizer,
            page=page_request(context, first, after, arity=2),
            filters=service.SearchFilters(
                search=search, kind=kind, industry=industry, license=license,
                verified_only=verified_only, compatible_with_node=compatible_with_node,
            ),
        )  # fmt: skip
        return MarketSearchType(
            listings=Connection[MarketListingType].from_page(
                result.page,
                key=lambda row: (row.created_at.isoformat(), str(row.id)),
                node=MarketListingType.from_model,
                after=after,
            ),
            facets=FacetsType.from_facets(result.facets),
        )

    @strawberry.field(description="A listing by id or by name (slug).")
    async def market_listing(
        self, info: Info[HubContext, None], id: uuid.UUID | None = None, slug: str | None = None
    ) -> MarketListingType:
        context = info.context
        if (id is None) == (slug is None):
            raise InvalidInput("give id or slug")
        row = await query(
            context, service.get_listing, authorizer=context.authorizer,
            listing_id=id, slug=slug,
        )  # fmt: skip
        return MarketListingType.from_model(row)

    @strawberry.field
    async def market_release(
        self, info: Info[HubContext, None], id: uuid.UUID
    ) -> MarketReleaseType:
        context = info.context
        row = await query(
            context, service.get_release, authorizer=context.authorizer, release_id=id
        )
        return MarketReleaseType.from_model(row)

    @strawberry.field(description="A node's installations, newest first (its operator's view).")
    async def market_installations(
        self,
        info: Info[HubContext, None],
        node: str,
        first: int = 20,
        after: str | None = None,
        status: InstallationState | None = None,
    ) -> Connection[MarketInstallationType]:
        context = info.context
        page = await query(
            context, service.list_installations, authorizer=context.authorizer, node=node[:63],
            status=status,
            page=page_request(context, first, after, arity=2),
        )  # fmt: skip
        return Connection[MarketInstallationType].from_page(
            page,
            key=lambda row: (row.created_at.isoformat(), str(row.id)),
            node=MarketInstallationType.from_model,
            after=after,
        )

    @strawberry.field(description="A listing's entitlements (its publisher's view).")
    async def market_entitlements(
        self, info: Info[HubContext, None], listing_id: uuid.UUID
    ) -> list[MarketEntitlementType]:
        context = info.context
        rows = await query(
            context, service.entitlements_of, authorizer=context.authorizer, listing_id=listing_id
        )
        return [MarketEntitlementType.from_model(r) for r in rows]

    @strawberry.field(description="Your organization's signing and reviewer keys.")
    async def market_keys(self, info: Info[HubContext, None]) -> list[MarketKeyType]:
        context = info.context
        rows = await query(context, service.keys_of, authorizer=context.authorizer)
        return [MarketKeyType.from_model(r) for r in rows]

    @strawberry.field(
        description="Which of these organizations (at most 100) are verified publishers."
    )
    async def market_publishers(
        self, info: Info[HubContext, None], organization_ids: list[uuid.UUID]
    ) -> list[MarketPublisherType]:
        context = info.context
        rows = await query(
            context, service.publishers_among, authorizer=context.authorizer,
            organization_ids=organization_ids,
        )  # fmt: skip
        return [MarketPublisherType.from_model(r) for r in rows]

    @strawberry.field(
        description="The nodes you may install releases on (your organization's), by name."
    )
    async def market_nodes(self, info: Info[HubContext, None]) -> list[MarketNodeType]:
        context = info.context
        rows = await query(context, service.install_targets, authorizer=context.authorizer)
        return [MarketNodeType.from_model(r) for r in rows]
