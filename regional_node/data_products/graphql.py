from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from regional_node.data_products import service
from regional_node.data_products.products import configured
from regional_node.graphql.context import NodeContext
from yunfab.graphql.pagination import Connection
from yunfab.graphql.permissions import allowed
from yunfab.graphql.resolvers import page_request, query
from yunfab.usage_policy import FieldSpec


@strawberry.type(name="DataProductField")
class DataProductFieldType:
    name: str
    type: str = strawberry.field(description="In the exchange's vocabulary: string, integer...")
    role: str = strawberry.field(description="dimension, measure, attribute...")
    description: str

    @classmethod
    def of(cls, spec: FieldSpec) -> DataProductFieldType:
        return cls(
            name=spec.name, type=spec.type.value, role=spec.role.value, description=spec.description
        )


@strawberry.type(
    name="DataProduct",
    description="A data product this node publishes to the hub's exchange, and its sync.",
)
class DataProductType:
    key: str
    title: str
    description: str
    update_frequency: str
    fields: list[DataProductFieldType]
    offers: list[JSON] = strawberry.field(
        description="The default usage-policy offers, as the exchange documents them (their "
        "terms are the exchange's UsagePolicy; see docs/data_exchange.md)."
    )
    public_sample: bool = strawberry.field(
        description="Whether real rows go into the catalog's public sample."
    )
    next_seq: int | None = strawberry.field(
        description="The seq of its next batch; null before anything was queued."
    )
    needs_snapshot: bool = strawberry.field(
        description="The next batches are a full snapshot (at first, after the hub lost track)."
    )
    pending_batches: int = strawberry.field(description="Queued, not yet acknowledged.")
    oldest_pending_at: dt.datetime | None
    queued_rows: int = strawberry.field(description="Rows as last queued for the hub.")
    updated_at: dt.datetime | None

    @classmethod
    def of(cls, state: service.ProductState) -> DataProductType:
        product = state.product
        return cls(
            key=product.key,
            title=product.title,
            description=product.description,
            update_frequency=product.update_frequency.value,
            fields=[DataProductFieldType.of(spec) for spec in product.schema],
            offers=[offer.document() for offer in product.offers],  # type: ignore[misc]
            public_sample=product.public_sample,
            next_seq=state.next_seq,
            needs_snapshot=state.needs_snapshot,
            pending_batches=state.pending_batches,
            oldest_pending_at=state.oldest_pending_at,
            queued_rows=state.queued_rows,
            updated_at=state.updated_at,
        )


@strawberry.type
class DataProductQuery:
    @strawberry.field(
        description="The data products this node publishes (DATA_PRODUCTS), by key, with how far "
        "each one's sync with the hub has got (the node operator). Their rows are the hub's "
        "data exchange's to read.",
        permission_classes=[allowed("node.data_product.read")],
    )
    async def data_products(
        self, info: Info[NodeContext, None], first: int = 50, after: str | None = None
    ) -> Connection[DataProductType]:
        context = info.context
        page = await query(
            context,
            service.product_states,
            authorizer=context.authorizer,
            products=configured(context.settings.data_products),
            page=page_request(context, first, after, arity=1),
        )
        return Connection[DataProductType].from_page(
            page, key=lambda state: (state.product.key,), node=DataProductType.of, after=after
        )
