"""The data exchange's GraphQL types, built from the ORM rows."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from hub.data_exchange import query as engine
from hub.data_exchange import service
from hub.data_exchange.models import Contract, ContractState, DataProduct, Offer, OfferStatus
from hub.graphql.context import HubContext
from hub.organizations.models import OrganizationKind
from yunfab.errors import InvalidInput
from yunfab.graphql.dataloaders import Loader, by_key, grouped
from yunfab.graphql.pagination import decode_cursor, encode_cursor
from yunfab.usage_policy import Purpose, UsagePolicy

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


@strawberry.enum(name="UsagePolicyApproval")
class Approval(enum.Enum):
    AUTOMATIC = "automatic"
    PROVIDER = "provider"


@strawberry.enum(name="ContractRole", description="Your organization's side of a contract.")
class ContractRole(enum.Enum):
    CONSUMER = "consumer"
    PROVIDER = "provider"


@strawberry.type(name="UsagePolicyConsumers", description="Who may ask for a contract.")
class ConsumersType:
    organizations: list[str]
    kinds: list[OrganizationKind]


@strawberry.type(name="UsagePolicyAggregation")
class AggregationType:
    min_contributors: int = strawberry.field(
        description="Only aggregates over at least this many contributors are answered."
    )


@strawberry.type(
    name="UsagePolicy",
    description="An offer's terms (the closed vocabulary of docs/data_exchange.md).",
)
class UsagePolicyType:
    consumers: ConsumersType
    purposes: list[Purpose]
    regions: list[str] | None = strawberry.field(description="Null: every region.")
    fields: list[str] | None = strawberry.field(description="Null: every field of the product.")
    aggregation: AggregationType | None = strawberry.field(
        description="Set: aggregates only, never rows."
    )
    retention_days: int
    contract_days: int
    expires_at: dt.datetime | None
    onward_sharing: bool
    fresh_data: bool
    approval: Approval

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> UsagePolicyType:
        policy = UsagePolicy.model_validate(document)
        return cls(
            consumers=ConsumersType(
                organizations=list(policy.consumers.organizations),
                kinds=[OrganizationKind(kind) for kind in policy.consumers.kinds],
            ),
            purposes=list(policy.purposes),
            regions=list(policy.regions) if policy.regions is not None else None,
            fields=list(policy.fields) if policy.fields is not None else None,
            aggregation=(
                AggregationType(min_contributors=policy.aggregation.min_contributors)
                if policy.aggregation
                else None
            ),
            retention_days=policy.retention_days,
            contract_days=policy.contract_days,
            expires_at=policy.expires_at,
            onward_sharing=policy.onward_sharing,
            fresh_data=policy.fresh_data,
            approval=Approval(policy.approval),
        )


@strawberry.input(name="UsagePolicyConsumersInput")
class ConsumersInput:
    organizations: list[str] = strawberry.field(default_factory=list)
    kinds: list[OrganizationKind] = strawberry.field(default_factory=list)


@strawberry.input(name="UsagePolicyAggregationInput")
class AggregationInput:
    min_contributors: int


@strawberry.input(
    name="UsagePolicyInput",
    description="An offer's terms; checked as docs/data_exchange.md says, refusals name the term.",
)
class UsagePolicyInput:
    consumers: ConsumersInput
    purposes: list[Purpose]
    retention_days: int
    contract_days: int
    regions: list[str] | None = None
    fields: list[str] | None = None
    aggregation: AggregationInput | None = None
    expires_at: dt.datetime | None = None
    onward_sharing: bool = False
    fresh_data: bool = False
    approval: Approval = Approval.PROVIDER

    def document(self) -> dict[str, Any]:
        """The terms as the JSON form takes them, so both forms are checked alike."""
        return {
            "consumers": {
                "organizations": list(self.consumers.organizations),
                "kinds": [kind.value for kind in self.consumers.kinds],
            },
            "purposes": [purpose.value for purpose in self.purposes],
            "regions": self.regions,
            "fields": self.fields,
            "aggregation": (
                {"min_contributors": self.aggregation.min_contributors}
                if self.aggregation
                else None
            ),
            "retention_days": self.retention_days,
            "contract_days": self.contract_days,
            "expires_at": self.expires_at,
            "onward_sharing": self.onward_sharing,
            "fresh_data": self.fresh_data,
            "approval": self.approval.value,
        }


@strawberry.type(name="DataOffer", description="A usage policy a product is offered under.")
class OfferType:
    id: uuid.UUID
    product_id: uuid.UUID
    policy: UsagePolicyType
    policy_json: JSON = strawberry.field(
        deprecation_reason="Read the typed `policy`; this JSON form goes in the next release."
    )
    policy_hash: str = strawberry.field(description="SHA-256 of the policy (canonical JSON).")
    status: OfferStatus
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: Offer) -> OfferType:
        return cls(
            id=row.id,
            product_id=row.product_id,
            policy=UsagePolicyType.from_document(row.policy),
            policy_json=row.policy,  # type: ignore[arg-type]
            policy_hash=row.policy_hash,
            status=row.status,
            created_at=row.created_at,
        )


class OffersLoader(Loader[uuid.UUID, list[OfferType]]):
    """A product's active offers."""

    async def batch_load(self, keys: list[uuid.UUID]) -> list[list[OfferType]]:
        offers = await service.offers_of(self.context.session, keys)
        return grouped(keys, offers, lambda offer: offer.product_id, OfferType.from_model)


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
    sample: JSON = strawberry.field(
        description="A few example rows. Rows are data: each is an object keyed by the "
        "product's own `schema`, so JSON rather than a fixed type."
    )
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
        return await OffersLoader.of(info).load(self.id)


@strawberry.type(name="DataCatalogFacetCount")
class FacetCountType:
    value: str
    count: int


@strawberry.type(
    name="DataCatalogFacets", description="How many matching products per value, most first."
)
class DataCatalogFacetsType:
    industry: list[FacetCountType]
    region: list[FacetCountType]
    fields: list[FacetCountType] = strawberry.field(
        description="Field names of the products' schemas (the 100 most common)."
    )

    @classmethod
    def from_facets(cls, facets: service.CatalogFacets) -> DataCatalogFacetsType:
        def counts(values: dict[str, int]) -> list[FacetCountType]:
            ordered = sorted(values.items(), key=lambda item: (-item[1], item[0]))
            return [FacetCountType(value=v, count=n) for v, n in ordered]

        return cls(
            industry=counts(facets.industry),
            region=counts(facets.region),
            fields=counts(facets.fields),
        )


class ProductLoader(Loader[uuid.UUID, DataProductType | None]):
    async def batch_load(self, keys: list[uuid.UUID]) -> list[DataProductType | None]:
        rows = await service.products_by_id(self.context.session, keys)
        return by_key(keys, rows, lambda row: row.id, DataProductType.from_model)


@strawberry.type(name="DataContractRequest", description="What the consumer asked for.")
class ContractRequestType:
    purpose: Purpose
    fields: list[str]
    regions: list[str] = strawberry.field(description="Empty: all the offer allows.")

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ContractRequestType:
        return cls(
            purpose=Purpose(document["purpose"]),
            fields=list(document.get("fields") or []),
            regions=list(document.get("regions") or []),
        )


@strawberry.type(
    name="DataContractTerms",
    description="The offer's policy narrowed to the request; fixed once finalized.",
)
class ContractTermsType:
    product_id: uuid.UUID
    product_key: str
    offer_id: uuid.UUID
    offer_hash: str
    provider_organization_id: str
    consumer_organization_id: str
    purpose: Purpose
    fields: list[str]
    regions: list[str] | None = strawberry.field(description="Null: every region.")
    aggregation: AggregationType | None
    retention_days: int
    contract_days: int
    onward_sharing: bool
    fresh_data: bool
    expires_at: dt.datetime | None = strawberry.field(description="Set when finalized.")

    @classmethod
    def from_document(cls, terms: dict[str, Any]) -> ContractTermsType:
        aggregation = terms.get("aggregation")
        expires = terms.get("expires_at")
        return cls(
            product_id=uuid.UUID(terms["product"]),
            product_key=terms["product_key"],
            offer_id=uuid.UUID(terms["offer"]),
            offer_hash=terms["offer_hash"],
            provider_organization_id=terms["provider_org"],
            consumer_organization_id=terms["consumer_org"],
            purpose=Purpose(terms["purpose"]),
            fields=list(terms.get("fields") or []),
            regions=terms.get("regions"),
            aggregation=(
                AggregationType(min_contributors=aggregation["min_contributors"])
                if aggregation
                else None
            ),
            retention_days=terms["retention_days"],
            contract_days=terms["contract_days"],
            onward_sharing=bool(terms.get("onward_sharing")),
            fresh_data=bool(terms.get("fresh_data")),
            expires_at=dt.datetime.fromisoformat(expires) if expires else None,
        )


@strawberry.type(name="DataContractStep", description="One transition of a contract.")
class ContractStepType:
    status: ContractState
    at: dt.datetime
    by: str = strawberry.field(description='Who moved it: a person or client, or "policy".')
    note: str | None

    @classmethod
    def from_document(cls, step: dict[str, Any]) -> ContractStepType:
        return cls(
            status=ContractState(step["state"]),
            at=dt.datetime.fromisoformat(step["at"]),
            by=step["by"],
            note=step.get("note"),
        )


_DEPRECATED_JSON = "Read the typed `{}`; this JSON form goes in the next release."


@strawberry.type(
    name="DataContract", description="A negotiation and, once finalized, an agreement."
)
class ContractType:
    id: uuid.UUID
    offer_id: uuid.UUID
    product_id: uuid.UUID
    consumer_organization_id: str
    provider_organization_id: str
    status: ContractState
    state: ContractState = strawberry.field(
        deprecation_reason="Read `status`; every hub type names its state so."
    )
    purpose: str
    request: ContractRequestType
    request_json: JSON = strawberry.field(deprecation_reason=_DEPRECATED_JSON.format("request"))
    terms: ContractTermsType | None = strawberry.field(
        description="The terms offered, then agreed."
    )
    terms_json: JSON | None = strawberry.field(
        description="The terms exactly as hashed into termsHash (canonical JSON: sorted keys, "
        "no spaces), for checking the hash; read the typed `terms` otherwise."
    )
    terms_hash: str | None = strawberry.field(description="SHA-256 of the terms (canonical JSON).")
    history: list[ContractStepType]
    history_json: JSON = strawberry.field(deprecation_reason=_DEPRECATED_JSON.format("history"))
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
            status=row.state,
            state=row.state,
            purpose=row.purpose,
            request=ContractRequestType.from_document(row.request),
            request_json=row.request,  # type: ignore[arg-type]
            terms=ContractTermsType.from_document(row.terms) if row.terms else None,
            terms_json=row.terms,  # type: ignore[arg-type]
            terms_hash=row.terms_hash,
            history=[ContractStepType.from_document(step) for step in row.history],
            history_json=row.history,  # type: ignore[arg-type]
            created_at=row.created_at,
            finalized_at=row.finalized_at,
            expires_at=row.expires_at,
            terminated_at=row.terminated_at,
            termination_reason=row.termination_reason,
        )

    @strawberry.field(description="The product the contract is on (its catalog entry).")
    async def product(self, info: Info[HubContext, None]) -> DataProductType | None:
        return await ProductLoader.of(info).load(self.product_id)


@strawberry.input(name="DataFilterInput")
class FilterInput:
    field: str
    op: engine.FilterOp = engine.FilterOp.EQ
    value: JSON = strawberry.field(
        description="A value of the field's own type (or a list of them for IN): which type "
        "depends on the product's schema, so JSON."
    )


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
    rows: JSON = strawberry.field(
        description="One object per row or group, keyed by `columns`: which columns depends on "
        "the query and the product's schema, so JSON rather than a fixed type."
    )
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
