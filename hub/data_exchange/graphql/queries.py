"""Catalog, contracts and governed data in the hub's GraphQL API."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry
from strawberry.types import Info

from hub.data_exchange import service
from hub.data_exchange.graphql.types import (
    ContractRole,
    ContractType,
    DataCatalogFacetsType,
    DataProductType,
    DataQueryInput,
    DataQueryResultType,
)
from hub.data_exchange.models import ContractState
from hub.graphql.context import HubContext
from yunfab.errors import InvalidInput
from yunfab.graphql import resolvers
from yunfab.graphql.pagination import Connection
from yunfab.graphql.resolvers import page_request, query


def _check_filters(*filters: str | None) -> None:
    if any(len(v or "") > 100 for v in filters):
        raise InvalidInput("filters are at most 100 characters")


@strawberry.type
class DataExchangeQuery:
    @strawberry.field(
        description="The catalog of data products, newest first. `search` matches title, "
        "description and key; the other filters match exactly."
    )
    async def data_products(
        self,
        info: Info[HubContext, None],
        search: str | None = None,
        region: str | None = None,
        industry: str | None = None,
        first: int = 20,
        after: str | None = None,
        node: Annotated[
            str | None, strawberry.argument(description="The regional node that publishes it.")
        ] = None,
        publisher_organization_id: str | None = None,
        field: Annotated[
            str | None,
            strawberry.argument(description="Only products whose schema has a field so named."),
        ] = None,
    ) -> Connection[DataProductType]:
        context = info.context
        _check_filters(region, industry, node, publisher_organization_id, field)
        page = await query(
            context, service.search_catalog, authorizer=context.authorizer,
            page=page_request(context, first, after, arity=2),
            search=(search or "")[:100] or None, region=region, industry=industry, node=node,
            publisher=publisher_organization_id, field_name=field,
        )  # fmt: skip
        return Connection[DataProductType].from_page(
            page,
            key=lambda row: (row.created_at.isoformat(), str(row.id)),
            node=DataProductType.from_model,
            after=after,
        )

    @strawberry.field(
        description="How many catalog products match per industry, region and schema field, "
        "under the same filters as `dataProducts` (the facets of a catalog search)."
    )
    async def data_catalog_facets(
        self,
        info: Info[HubContext, None],
        search: str | None = None,
        region: str | None = None,
        industry: str | None = None,
        node: str | None = None,
        publisher_organization_id: str | None = None,
        field: str | None = None,
    ) -> DataCatalogFacetsType:
        context = info.context
        _check_filters(region, industry, node, publisher_organization_id, field)
        facets = await query(
            context, service.catalog_facets, authorizer=context.authorizer,
            search=(search or "")[:100] or None, region=region, industry=industry, node=node,
            publisher=publisher_organization_id, field_name=field,
        )  # fmt: skip
        return DataCatalogFacetsType.from_facets(facets)

    @strawberry.field
    async def data_product(self, info: Info[HubContext, None], id: uuid.UUID) -> DataProductType:
        context = info.context
        row = await query(
            context, service.get_product, authorizer=context.authorizer, product_id=id
        )
        return DataProductType.from_model(row)

    @strawberry.field(
        description="Your organization's contracts, newest first, on one side: as consumer "
        "(default) or as provider."
    )
    async def data_contracts(
        self,
        info: Info[HubContext, None],
        as_provider: Annotated[
            bool, strawberry.argument(deprecation_reason="Use `role: PROVIDER`.")
        ] = False,
        first: int = 20,
        after: str | None = None,
        role: Annotated[
            ContractRole | None,
            strawberry.argument(description="Your side; overrides asProvider (default CONSUMER)."),
        ] = None,
        status: ContractState | None = None,
        product_id: uuid.UUID | None = None,
    ) -> Connection[ContractType]:
        context = info.context
        if role is not None:
            as_provider = role is ContractRole.PROVIDER
        page = await query(
            context, service.list_contracts, authorizer=context.authorizer,
            page=page_request(context, first, after, arity=2),
            as_provider=as_provider, state=status, product_id=product_id,
        )  # fmt: skip
        return Connection[ContractType].from_page(
            page,
            key=lambda row: (row.created_at.isoformat(), str(row.id)),
            node=ContractType.from_model,
            after=after,
        )

    @strawberry.field
    async def data_contract(self, info: Info[HubContext, None], id: uuid.UUID) -> ContractType:
        context = info.context
        row = await query(
            context, service.get_contract, authorizer=context.authorizer, contract_id=id
        )
        return ContractType.from_model(row)

    @strawberry.field(
        description="Query a product under your agreement: only its fields and regions, only "
        "aggregates over enough contributors where it says so. Refusals (FORBIDDEN) name the "
        "term in extensions.term. Every access is audited."
    )
    async def governed_data(
        self, info: Info[HubContext, None], contract_id: uuid.UUID, query: DataQueryInput
    ) -> DataQueryResultType:
        context = info.context
        request = query.query()
        answer = await resolvers.query(  # `query` is the argument here
            context, service.query_governed, authorizer=context.authorizer,
            policy_engine=context.authorizer.engine, audit=context.audit,
            contract_id=contract_id, query=request, live=context.live_rows,
            disclosures=context.sessionmaker,
        )  # fmt: skip
        return DataQueryResultType.from_answer(answer, request.offset)

    @strawberry.field(description="Query your own organization's product (no agreement).")
    async def own_data(
        self, info: Info[HubContext, None], product_id: uuid.UUID, query: DataQueryInput
    ) -> DataQueryResultType:
        context = info.context
        request = query.query()
        answer = await resolvers.query(  # `query` is the argument here
            context, service.query_own, authorizer=context.authorizer,
            product_id=product_id, query=request, live=context.live_rows,
        )  # fmt: skip
        return DataQueryResultType.from_answer(answer, request.offset)
