"""The data exchange's GraphQL types, built from the ORM rows."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from hub.data_exchange import query as engine
from hub.data_exchange import service
from hub.data_exchange.models import Contract, ContractState, DataProduct, Offer, OfferStatus
from hub.graphql.context import HubContext
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import decode_cursor, encode_cursor
from yunfab.usage_policy import Purpose

strawberry.enum(ContractState, name="ContractState")
strawberry.enum(OfferStatus, name="DataOfferStatus")
strawberry.enum(Purpose, name="DataPurpose", description="The closed list of purposes.")
strawberry.enum(engine.FilterOp, name="DataFilterOp")
strawberry.enum(engine.AggregateFn, name="DataAggregateFn")


@strawberry.type(name="DataField")
class DataFieldType:
    name: str
    type: str
    role: str
    description: str


@strawberry.type(name="DataOffer", description="A usage policy a product is offered under.")
class OfferType:
    id: uuid.UUID
    product_id: uuid.UUID
    policy: JSON
    policy_hash: str
    status: OfferStatus
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: Offer) -> OfferType:
        return cls(
            id=row.id,
            product_id=row.product_id,
            policy=row.policy,  # type: ignore[arg-type]
            policy_hash=row.policy_hash,
            status=row.status,
            created_at=row.created_at,
        )


def _offers_loader(info: Info[HubContext, None]) -> DataLoader[uuid.UUID, list[OfferType]]:
    loaders = info.context.loaders
    if "data_offers" not in loaders:

        async def load(ids: list[uuid.UUID]) -> list[list[OfferType]]:
            offers = await service.offers_of(info.context.session, ids)
            by_product: dict[uuid.UUID, list[OfferType]] = {i: [] for i in ids}
            for offer in offers:
                by_product[offer.product_id].append(OfferType.from_model(offer))
            return [by_product[i] for i in ids]

        loaders["data_offers"] = DataLoader(load_fn=load)
    loader: DataLoader[uuid.UUID, list[OfferType]] = loaders["data_offers"]
    return loader


@strawberry.type(name="DataProduct", description="A dataset in the hub's catalog.")
class DataProductType:
    id: uuid.UUID
    key: str
    title: str
    description: str
    publisher_organization_id: str
    node: str | None = strawberry.field(description="The regional node that publishes it.")
    region: str
    industry: str
    update_frequency: str
    schema: list[DataFieldType]
    sample: JSON
    live: bool = strawberry.field(description="Its publisher answers live queries.")
    row_count: int
    sync_seq: int
    data_updated_at: dt.datetime | None
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: DataProduct) -> DataProductType:
        return cls(
            id=row.id,
            key=row.key,
            title=row.title,
            description=row.description,
            publisher_organization_id=row.publisher_org,
            node=row.node,
            region=row.region,
            industry=row.industry,
            update_frequency=row.update_frequency,
            schema=[DataFieldType(**f) for f in row.fields],
            sample=row.sample,  # type: ignore[arg-type]
            live=row.live,
            row_count=row.row_count,
            sync_seq=row.sync_seq,
            data_updated_at=row.data_updated_at,
            created_at=row.created_at,
        )

    @strawberry.field(description="Its active offers.")
    async def offers(self, info: Info[HubContext, None]) -> list[OfferType]:
        return await _offers_loader(info).load(self.id)


@strawberry.type(
    name="DataContract", description="A negotiation and, once finalized, an agreement."
)
class ContractType:
    id: uuid.UUID
    offer_id: uuid.UUID
    product_id: uuid.UUID
    consumer_organization_id: str
    provider_organization_id: str
    state: ContractState
    purpose: str
    request: JSON
    terms: JSON | None = strawberry.field(description="The terms offered, then agreed.")
    terms_hash: str | None = strawberry.field(description="SHA-256 of the terms (canonical JSON).")
    history: JSON
    created_at: dt.datetime
    finalized_at: dt.datetime | None
    expires_at: dt.datetime | None
    terminated_at: dt.datetime | None
    termination_reason: str | None

    @classmethod
    def from_model(cls, row: Contract) -> ContractType:
        return cls(
            id=row.id,
            offer_id=row.offer_id,
            product_id=row.product_id,
            consumer_organization_id=row.consumer_org,
            provider_organization_id=row.provider_org,
            state=row.state,
            purpose=row.purpose,
            request=row.request,  # type: ignore[arg-type]
            terms=row.terms,  # type: ignore[arg-type]
            terms_hash=row.terms_hash,
            history=row.history,  # type: ignore[arg-type]
            created_at=row.created_at,
            finalized_at=row.finalized_at,
            expires_at=row.expires_at,
            terminated_at=row.terminated_at,
            termination_reason=row.termination_reason,
        )


@strawberry.input(name="DataFilterInput")
class FilterInput:
    field: str
    op: engine.FilterOp = engine.FilterOp.EQ
    value: JSON


@strawberry.input(name="DataAggregateInput")
class AggregateInput:
    fn: engine.AggregateFn
    field: str | None = None


@strawberry.input(name="DataQueryInput")
class DataQueryInput:
    fields: list[str] | None = strawberry.field(
        default=None, description="Columns of a row query (default: all the agreement allows)."
    )
    filters: list[FilterInput] = strawberry.field(default_factory=list)
    group_by: list[str] = strawberry.field(default_factory=list)
    aggregates: list[AggregateInput] = strawberry.field(default_factory=list)
    first: int = 100
    after: str | None = None
    fresh: bool = strawberry.field(
        default=False, description="Ask the publishing node for its rows now."
    )

    def query(self) -> engine.DataQuery:
        if len(self.filters) > engine.MAX_FILTERS or len(self.aggregates) > engine.MAX_AGGREGATES:
            raise InvalidInput(
                f"at most {engine.MAX_FILTERS} filters and {engine.MAX_AGGREGATES} aggregates"
            )
        offset = int(decode_cursor(self.after, 1, (int,))[0]) if self.after else 0
        return engine.DataQuery(
            fields=list(self.fields) if self.fields is not None else None,
            filters=[engine.Filter(f.field, f.op, f.value) for f in self.filters],
            group_by=list(self.group_by),
            aggregates=[engine.Aggregate(a.fn, a.field) for a in self.aggregates],
            limit=self.first,
            offset=offset,
            fresh=self.fresh,
        )


@strawberry.type(name="DataQueryResult")
class DataQueryResultType:
    product_id: uuid.UUID
    contract_id: uuid.UUID | None
    terms_hash: str | None
    columns: list[str]
    rows: JSON = strawberry.field(description="One object per row or group, keyed by column.")
    total_count: int = strawberry.field(description="Rows or groups before paging.")
    min_contributors: int | None = strawberry.field(
        description="Aggregates: how many contributors at least stand behind each figure on "
        "this page. Under an aggregation-only agreement this is its k, not an exact count."
    )
    snapshot: int | None
    fresh: bool
    retain_until: dt.date | None = strawberry.field(
        description="The agreement's retention term: delete what you keep of this by then."
    )
    has_next_page: bool
    end_cursor: str | None

    @classmethod
    def from_answer(cls, answer: service.Answer, offset: int) -> DataQueryResultType:
        result, contract = answer.result, answer.contract
        terms: dict[str, Any] = (contract.terms or {}) if contract else {}
        retention = terms.get("retention_days")
        end = offset + len(result.rows)
        return cls(
            product_id=answer.product.id,
            contract_id=contract.id if contract else None,
            terms_hash=contract.terms_hash if contract else None,
            columns=result.columns,
            rows=result.rows,  # type: ignore[arg-type]
            total_count=result.total,
            min_contributors=result.min_contributors,
            snapshot=answer.snapshot,
            fresh=answer.fresh,
            retain_until=(
                dt.datetime.now(dt.UTC).date() + dt.timedelta(days=retention)
                if retention is not None
                else None
            ),
            has_next_page=end < result.total,
            end_cursor=encode_cursor([end]) if result.rows else None,
        )
