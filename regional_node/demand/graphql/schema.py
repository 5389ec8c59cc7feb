"""The demand domain's queries and mutations.

Every mutation returns `<Name>Success | <Name>Error`: expected failures (bad input, a thing
not found, a conflict, the forecaster busy) come back as the error, with its stable code and
message (and, for sales, each refused row); a refusal by the policy is a GraphQL error
(FORBIDDEN), as everywhere on the node.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable
from typing import Annotated, Any, Self, TypeVar

import strawberry
from strawberry.types import Info

from regional_node.demand import feeds, forecasts, plans, service
from regional_node.demand.errors import SalesInvalid
from regional_node.demand.graphql.inputs import (
    CreateProductInput,
    PromotionInput,
    SalesRowInput,
    SkuInput,
    StockInput,
    UpdateProductInput,
    capped,
    raw_rows,
)
from regional_node.demand.graphql.types import (
    AccuracyType,
    ForecastLevelEnum,
    ForecastRunType,
    ImportProblemType,
    LotType,
    PlanType,
    ProductType,
    ProposalStatusEnum,
    ProposalType,
    SalesFeedType,
    SalesImportType,
    SalesRecordType,
    SkuType,
)
from regional_node.demand.models import ForecastLevel, ForecastRun
from regional_node.graphql.context import NodeContext
from regional_node.graphql.lookup import exactly_one
from yunfab.errors import Forbidden, Unauthenticated, YunfabError
from yunfab.graphql.pagination import Connection
from yunfab.graphql.resolvers import mutate, page_request, query

T = TypeVar("T")

BrandArgument = Annotated[
    str | None,
    strawberry.argument(
        description="The brand's organization id: yours unless you operate the node (then "
        "every brand's, or the one named)."
    ),
]


async def attempt(call: Awaitable[T]) -> T | YunfabError:
    """The mutation's result, or the expected failure it ended in (rolled back): a policy's
    refusal and unexpected errors are raised on."""
    try:
        return await call
    except (Forbidden, Unauthenticated):
        raise
    except YunfabError as exc:
        if exc.status_code >= 500 and exc.status_code != 503:
            raise
        return exc


@strawberry.interface(name="DemandError", description="Why a demand mutation did nothing.")
class DemandError:
    code: str = strawberry.field(description="Stable, e.g. PRODUCT_NOT_FOUND, INVALID_INPUT.")
    message: str

    @classmethod
    def of(cls, error: YunfabError) -> Self:
        return cls(code=error.code.upper(), message=error.detail)


@strawberry.type
class CreateProductSuccess:
    product: ProductType


@strawberry.type
class CreateProductError(DemandError):
    pass


@strawberry.type
class UpdateProductSuccess:
    product: ProductType


@strawberry.type
class UpdateProductError(DemandError):
    pass


@strawberry.type
class DeleteProductSuccess:
    id: uuid.UUID


@strawberry.type
class DeleteProductError(DemandError):
    pass


@strawberry.type
class SetAutoAcceptSuccess:
    product: ProductType


@strawberry.type
class SetAutoAcceptError(DemandError):
    pass


@strawberry.type
class CreateSkusSuccess:
    skus: list[SkuType]


@strawberry.type
class CreateSkusError(DemandError):
    pass


@strawberry.type
class DeleteSkuSuccess:
    id: uuid.UUID


@strawberry.type
class DeleteSkuError(DemandError):
    pass


@strawberry.type
class SetStockSuccess:
    skus: list[SkuType]


@strawberry.type
class SetStockError(DemandError):
    pass


@strawberry.type
class RecordSalesSuccess:
    sales_import: SalesImportType


@strawberry.type
class RecordSalesError(DemandError):
    problems: list[ImportProblemType] = strawberry.field(
        description="Each refused row with its column (up to 50; moreProblems counts the rest)."
    )
    more_problems: int

    @classmethod
    def of(cls, error: YunfabError) -> Self:
        problems = error.extra.get("problems", []) if isinstance(error, SalesInvalid) else []
        return cls(
            code=error.code.upper(),
            message=error.detail,
            problems=[
                ImportProblemType(row=p["row"], column=p["column"], message=p["message"])
                for p in problems
            ],
            more_problems=int(error.extra.get("more_problems", 0)),
        )


@strawberry.type
class RunForecastSuccess:
    forecast: ForecastRunType


@strawberry.type
class RunForecastError(DemandError):
    pass


@strawberry.type
class PlanProductionSuccess:
    plan: PlanType
    auto_accepted: list[LotType] = strawberry.field(
        description="Lots accepted at once under the products' auto-accept rules."
    )


@strawberry.type
class PlanProductionError(DemandError):
    pass


@strawberry.type
class AcceptProposalsSuccess:
    proposals: list[ProposalType]
    lots: list[LotType] = strawberry.field(
        description="One order per product variant and week: small batches, many varieties."
    )


@strawberry.type
class AcceptProposalsError(DemandError):
    pass


@strawberry.type
class RejectProposalsSuccess:
    proposals: list[ProposalType]


@strawberry.type
class RejectProposalsError(DemandError):
    pass


@strawberry.type
class SubscribeSalesFeedSuccess:
    feed: SalesFeedType


@strawberry.type
class SubscribeSalesFeedError(DemandError):
    pass


@strawberry.type
class PullSalesFeedSuccess:
    feed: SalesFeedType
    sales_import: SalesImportType | None = strawberry.field(
        description="The rows new at the hub, imported together; null when none were new."
    )
    rows: int = strawberry.field(description="Rows read under the agreement.")
    added: int
    corrected: int = strawberry.field(description="Rows pulled before whose quantity changed.")
    unchanged: int


@strawberry.type
class PullSalesFeedError(RecordSalesError):
    """Nothing was imported; the feed records why (lastOutcome, lastMessage)."""


@strawberry.type
class StopSalesFeedSuccess:
    feed: SalesFeedType


@strawberry.type
class StopSalesFeedError(DemandError):
    pass


def _result(name: str) -> Any:
    return strawberry.union(f"{name}Result")


CreateProductResult = Annotated[CreateProductSuccess | CreateProductError, _result("CreateProduct")]
UpdateProductResult = Annotated[UpdateProductSuccess | UpdateProductError, _result("UpdateProduct")]
DeleteProductResult = Annotated[DeleteProductSuccess | DeleteProductError, _result("DeleteProduct")]
SetAutoAcceptResult = Annotated[SetAutoAcceptSuccess | SetAutoAcceptError, _result("SetAutoAccept")]
CreateSkusResult = Annotated[CreateSkusSuccess | CreateSkusError, _result("CreateSkus")]
DeleteSkuResult = Annotated[DeleteSkuSuccess | DeleteSkuError, _result("DeleteSku")]
SetStockResult = Annotated[SetStockSuccess | SetStockError, _result("SetStock")]
RecordSalesResult = Annotated[RecordSalesSuccess | RecordSalesError, _result("RecordSales")]
SubscribeSalesFeedResult = Annotated[
    SubscribeSalesFeedSuccess | SubscribeSalesFeedError, _result("SubscribeSalesFeed")
]
PullSalesFeedResult = Annotated[PullSalesFeedSuccess | PullSalesFeedError, _result("PullSalesFeed")]
StopSalesFeedResult = Annotated[StopSalesFeedSuccess | StopSalesFeedError, _result("StopSalesFeed")]
RunForecastResult = Annotated[RunForecastSuccess | RunForecastError, _result("RunForecast")]
PlanProductionResult = Annotated[
    PlanProductionSuccess | PlanProductionError, _result("PlanProduction")
]
AcceptProposalsResult = Annotated[
    AcceptProposalsSuccess | AcceptProposalsError, _result("AcceptProposals")
]
RejectProposalsResult = Annotated[
    RejectProposalsSuccess | RejectProposalsError, _result("RejectProposals")
]


@strawberry.type
class DemandQuery:
    @strawberry.field(description="Configurable products (C2M), by slug.")
    async def products(
        self, info: Info[NodeContext, None], brand: BrandArgument = None, first: int = 50,
        after: str | None = None,
    ) -> Connection[ProductType]:  # fmt: skip
        context = info.context
        page = await query(
            context, service.list_products, runtime=context.runtime, brand=brand,
            page=page_request(context, first, after, arity=1),
        )  # fmt: skip
        return Connection[ProductType].from_page(
            page, key=lambda row: (row.slug,), node=ProductType.from_model, after=after
        )

    @strawberry.field(description="One product, by id or slug (exactly one).")
    async def product(
        self, info: Info[NodeContext, None], id: uuid.UUID | None = None, slug: str | None = None
    ) -> ProductType:
        context = info.context
        exactly_one(id=id, slug=slug)
        row = await query(
            context, service.get_product, runtime=context.runtime, product_id=id, slug=slug
        )
        return ProductType.from_model(row)

    @strawberry.field(description="SKUs, by brand and code.")
    async def skus(
        self, info: Info[NodeContext, None], brand: BrandArgument = None,
        product_id: uuid.UUID | None = None, first: int = 50, after: str | None = None,
    ) -> Connection[SkuType]:  # fmt: skip
        context = info.context
        page = await query(
            context, service.list_skus, runtime=context.runtime, brand=brand,
            product_id=product_id, page=page_request(context, first, after, arity=2),
        )  # fmt: skip
        return Connection[SkuType].from_page(
            page, key=lambda row: (row.brand_org, row.code), node=SkuType.from_model, after=after
        )

    @strawberry.field
    async def sku(self, info: Info[NodeContext, None], id: uuid.UUID) -> SkuType:
        context = info.context
        row = await query(context, service.get_sku, runtime=context.runtime, sku_id=id)
        return SkuType.from_model(row)

    @strawberry.field(description="Sales rows, newest day first.")
    async def sales_history(
        self, info: Info[NodeContext, None], brand: BrandArgument = None,
        sku_id: uuid.UUID | None = None,
        first_day: Annotated[dt.date | None, strawberry.argument(description="From.")] = None,
        last_day: Annotated[dt.date | None, strawberry.argument(description="To.")] = None,
        channel: str | None = None, region: str | None = None,
        first: int = 50, after: str | None = None,
    ) -> Connection[SalesRecordType]:  # fmt: skip
        context = info.context
        page = await query(
            context, service.sales_history, runtime=context.runtime,
            where=service.SalesFilter(
                brand=brand, sku_id=sku_id, first_day=first_day, last_day=last_day,
                channel=channel, region=region,
            ),
            page=page_request(context, first, after, arity=2),
        )  # fmt: skip
        return Connection[SalesRecordType].from_page(
            page,
            key=lambda row: (row.day.isoformat(), str(row.id)),
            node=SalesRecordType.from_model,
            after=after,
        )

    @strawberry.field(description="Sales uploads and increments, newest first.")
    async def sales_imports(
        self, info: Info[NodeContext, None], brand: BrandArgument = None, first: int = 50,
        after: str | None = None,
    ) -> Connection[SalesImportType]:  # fmt: skip
        context = info.context
        page = await query(
            context, service.sales_imports, runtime=context.runtime, brand=brand,
            page=page_request(context, first, after, arity=2),
        )  # fmt: skip
        return Connection[SalesImportType].from_page(
            page,
            key=lambda row: (row.created_at.isoformat(), str(row.id)),
            node=SalesImportType.from_model,
            after=after,
        )

    @strawberry.field(description="Brands' sales data products at the hub the node takes in.")
    async def sales_feeds(
        self, info: Info[NodeContext, None], brand: BrandArgument = None, first: int = 20,
        after: str | None = None,
    ) -> Connection[SalesFeedType]:  # fmt: skip
        context = info.context
        page = await query(
            context, feeds.list_feeds, runtime=context.runtime, brand=brand,
            page=page_request(context, first, after, arity=2),
        )  # fmt: skip
        return Connection[SalesFeedType].from_page(
            page,
            key=lambda row: (row.created_at.isoformat(), str(row.id)),
            node=SalesFeedType.from_model,
            after=after,
        )

    @strawberry.field(description="Forecasts, newest first.")
    async def forecast_runs(
        self, info: Info[NodeContext, None], brand: BrandArgument = None, first: int = 20,
        after: str | None = None,
    ) -> Connection[ForecastRunType]:  # fmt: skip
        context = info.context
        page = await query(
            context, forecasts.list_forecasts, runtime=context.runtime, brand=brand,
            page=page_request(context, first, after, arity=2),
        )  # fmt: skip
        return Connection[ForecastRunType].from_page(
            page,
            key=lambda row: (row.created_at.isoformat(), str(row.id)),
            node=ForecastRunType.from_model,
            after=after,
        )

    @strawberry.field(description="A forecast by id, or the brand's latest.")
    async def forecast_run(
        self, info: Info[NodeContext, None], id: uuid.UUID | None = None,
        brand: BrandArgument = None,
    ) -> ForecastRunType:  # fmt: skip
        context = info.context
        row = await query(
            context, forecasts.get_forecast, runtime=context.runtime, run_id=id, brand=brand
        )
        return ForecastRunType.from_model(row)

    @strawberry.field(
        description="How a forecast (by id, or the brand's latest) did on the weeks that have "
        "come in since: MASE, RMSSE, bias and coverage, per series and pooled."
    )
    async def forecast_accuracy(
        self, info: Info[NodeContext, None], id: uuid.UUID | None = None,
        brand: BrandArgument = None,
    ) -> AccuracyType:  # fmt: skip
        context = info.context
        result = await query(
            context, forecasts.forecast_accuracy, runtime=context.runtime, run_id=id, brand=brand
        )
        return AccuracyType.from_result(result)

    @strawberry.field(description="Plans, newest first.")
    async def demand_plans(
        self, info: Info[NodeContext, None], brand: BrandArgument = None, first: int = 20,
        after: str | None = None,
    ) -> Connection[PlanType]:  # fmt: skip
        context = info.context
        page = await query(
            context, plans.list_plans, runtime=context.runtime, brand=brand,
            page=page_request(context, first, after, arity=2),
        )  # fmt: skip
        return Connection[PlanType].from_page(
            page,
            key=lambda row: (row.created_at.isoformat(), str(row.id)),
            node=PlanType.from_model,
            after=after,
        )

    @strawberry.field(description="A plan by id, or the brand's latest.")
    async def demand_plan(
        self, info: Info[NodeContext, None], id: uuid.UUID | None = None,
        brand: BrandArgument = None,
    ) -> PlanType:  # fmt: skip
        context = info.context
        row = await query(context, plans.get_plan, runtime=context.runtime, plan_id=id, brand=brand)
        return PlanType.from_model(row)

    @strawberry.field(description="Production proposals, by week.")
    async def production_proposals(
        self, info: Info[NodeContext, None], brand: BrandArgument = None,
        status: ProposalStatusEnum | None = None,  # type: ignore[valid-type]
        plan_id: uuid.UUID | None = None, sku_id: uuid.UUID | None = None,
        first: int = 50, after: str | None = None,
    ) -> Connection[ProposalType]:  # fmt: skip
        context = info.context
        page = await query(
            context, plans.list_proposals, runtime=context.runtime,
            where=plans.ProposalFilter(
                brand=brand, status=status, plan_id=plan_id, sku_id=sku_id
            ),
            page=page_request(context, first, after, arity=2),
        )  # fmt: skip
        return Connection[ProposalType].from_page(
            page,
            key=lambda row: (row.week.isoformat(), str(row.id)),
            node=ProposalType.from_model,
            after=after,
        )


@strawberry.type
class DemandMutation:
    @strawberry.mutation(description="A configurable product of a brand (the brand or operator).")
    async def create_product(
        self, info: Info[NodeContext, None], input: CreateProductInput
    ) -> CreateProductResult:
        context = info.context
        result = await attempt(
            mutate(
                context, service.create_product, runtime=context.runtime, input=input.to_service()
            )
        )
        if isinstance(result, YunfabError):
            return CreateProductError.of(result)
        return CreateProductSuccess(product=ProductType.from_model(result))

    @strawberry.mutation(description="Change a product; its SKUs must remain valid choices.")
    async def update_product(
        self, info: Info[NodeContext, None], id: uuid.UUID, input: UpdateProductInput
    ) -> UpdateProductResult:
        context = info.context
        result = await attempt(
            mutate(
                context, service.update_product, runtime=context.runtime, product_id=id,
                changes=input.to_service(),
            )
        )  # fmt: skip
        if isinstance(result, YunfabError):
            return UpdateProductError.of(result)
        return UpdateProductSuccess(product=ProductType.from_model(result))

    @strawberry.mutation(description="Delete a product and its SKUs while nothing refers to them.")
    async def delete_product(
        self, info: Info[NodeContext, None], id: uuid.UUID
    ) -> DeleteProductResult:
        context = info.context
        result = await attempt(
            mutate(context, service.delete_product, runtime=context.runtime, product_id=id)
        )
        if isinstance(result, YunfabError):
            return DeleteProductError.of(result)
        return DeleteProductSuccess(id=result)

    @strawberry.mutation(
        description="The operator's rule: a product's proposals up to upTo units are accepted "
        "(and planned) as plans make them; null turns it off."
    )
    async def set_auto_accept(
        self, info: Info[NodeContext, None], product_id: uuid.UUID, up_to: int | None
    ) -> SetAutoAcceptResult:
        context = info.context
        result = await attempt(
            mutate(
                context, service.set_auto_accept, runtime=context.runtime,
                product_id=product_id, up_to=up_to,
            )
        )  # fmt: skip
        if isinstance(result, YunfabError):
            return SetAutoAcceptError.of(result)
        return SetAutoAcceptSuccess(product=ProductType.from_model(result))

    @strawberry.mutation(description="SKUs of a product (up to 200), all or none.")
    async def create_skus(
        self, info: Info[NodeContext, None], product_id: uuid.UUID, skus: list[SkuInput]
    ) -> CreateSkusResult:
        context = info.context

        async def call() -> list[SkuType]:
            capped("skus", skus, service.MAX_SKUS_AT_ONCE)
            rows = await mutate(
                context, service.create_skus, runtime=context.runtime, product_id=product_id,
                skus=[sku.to_service() for sku in skus],
            )  # fmt: skip
            return [SkuType.from_model(row) for row in rows]

        result = await attempt(call())
        if isinstance(result, YunfabError):
            return CreateSkusError.of(result)
        return CreateSkusSuccess(skus=result)

    @strawberry.mutation(description="Delete a SKU without sales or proposals.")
    async def delete_sku(self, info: Info[NodeContext, None], id: uuid.UUID) -> DeleteSkuResult:
        context = info.context
        result = await attempt(
            mutate(context, service.delete_sku, runtime=context.runtime, sku_id=id)
        )
        if isinstance(result, YunfabError):
            return DeleteSkuError.of(result)
        return DeleteSkuSuccess(id=result)

    @strawberry.mutation(description="Stock on hand per SKU (up to 1000): plans net against it.")
    async def set_stock(
        self, info: Info[NodeContext, None], stock: list[StockInput], brand: BrandArgument = None
    ) -> SetStockResult:
        context = info.context

        async def call() -> list[SkuType]:
            capped("stock", stock, 1000)
            rows = await mutate(
                context, service.set_stock, runtime=context.runtime, brand=brand,
                levels=[
                    service.StockLevel(on_hand=s.on_hand, sku_id=s.sku_id, code=s.code)
                    for s in stock
                ],
            )  # fmt: skip
            return [SkuType.from_model(row) for row in rows]

        result = await attempt(call())
        if isinstance(result, YunfabError):
            return SetStockError.of(result)
        return SetStockSuccess(skus=result)

    @strawberry.mutation(
        description="Sales increments (up to 1000 rows), checked as a whole as an upload is: "
        "all stored, or none with every problem named by its row."
    )
    async def record_sales(
        self, info: Info[NodeContext, None], rows: list[SalesRowInput],
        brand: BrandArgument = None, source: str = "graphql",
    ) -> RecordSalesResult:  # fmt: skip
        context = info.context

        async def call() -> SalesImportType:
            capped("rows", rows, 1000)
            row = await mutate(
                context, service.import_sales, runtime=context.runtime, brand=brand,
                rows=raw_rows(rows), source=source,
            )  # fmt: skip
            return SalesImportType.from_model(row)

        result = await attempt(call())
        if isinstance(result, YunfabError):
            return RecordSalesError.of(result)
        return RecordSalesSuccess(sales_import=result)

    @strawberry.mutation(
        description="Take a brand's sales data product at the hub in, under an agreement the "
        "node's operator organization holds (a finalized contract): checked with the hub first. "
        "everyMinutes (5 to 10080) pulls it in the background; without, only pullSalesFeed does."
    )
    async def subscribe_sales_feed(
        self, info: Info[NodeContext, None], contract_id: uuid.UUID,
        brand: BrandArgument = None, every_minutes: int | None = None,
    ) -> SubscribeSalesFeedResult:  # fmt: skip
        context = info.context

        async def call() -> SalesFeedType:
            row = await mutate(
                context, feeds.subscribe, runtime=context.runtime, hub=context.hub_link.client,
                brand=brand, contract_id=contract_id, every_minutes=every_minutes,
            )  # fmt: skip
            return SalesFeedType.from_model(row)

        result = await attempt(call())
        if isinstance(result, YunfabError):
            return SubscribeSalesFeedError.of(result)
        return SubscribeSalesFeedSuccess(feed=result)

    @strawberry.mutation(
        description="Pull a feed's rows from the hub now and import what is new or corrected, "
        "checked as an upload is (every problem named by its row in the pull, nothing stored "
        "when one is bad). A refusal is recorded on the feed and audited."
    )
    async def pull_sales_feed(
        self, info: Info[NodeContext, None], id: uuid.UUID
    ) -> PullSalesFeedResult:
        context = info.context

        async def call() -> feeds.PullOutcome:
            return await mutate(
                context, feeds.pull, runtime=context.runtime, hub=context.hub_link.client,
                feed_id=id,
            )  # fmt: skip

        result = await attempt(call())
        if isinstance(result, YunfabError):
            return PullSalesFeedError.of(result)
        if result.error is not None:
            return PullSalesFeedError.of(result.error)
        return PullSalesFeedSuccess(
            feed=SalesFeedType.from_model(result.feed),
            sales_import=SalesImportType.from_model(result.sales_import)
            if result.sales_import is not None
            else None,
            rows=result.rows, added=result.added, corrected=result.corrected,
            unchanged=result.unchanged,
        )  # fmt: skip

    @strawberry.mutation(description="No more pulls of a feed; what it imported stays.")
    async def stop_sales_feed(
        self, info: Info[NodeContext, None], id: uuid.UUID
    ) -> StopSalesFeedResult:
        context = info.context

        async def call() -> SalesFeedType:
            row = await mutate(context, feeds.stop, runtime=context.runtime, feed_id=id)
            return SalesFeedType.from_model(row)

        result = await attempt(call())
        if isinstance(result, YunfabError):
            return StopSalesFeedError.of(result)
        return StopSalesFeedSuccess(feed=result)

    @strawberry.mutation(
        description="Forecast a brand's weekly sales per SKU, reconciled SKU -> product -> "
        "total, with quantiles and a 90% interval (FORECASTER_BUSY when the node is at it)."
    )
    async def run_forecast(
        self, info: Info[NodeContext, None], horizon: int, brand: BrandArgument = None,
        season_length: Annotated[
            int | None,
            strawberry.argument(description="Weeks in a season; null: a year (52)."),
        ] = None,
        windows: Annotated[
            int, strawberry.argument(description="Cross-validation windows per series.")
        ] = 3,
        promotions: Annotated[
            list[PromotionInput] | None,
            strawberry.argument(
                description="Promotions per SKU and week (up to 10,000), past and ahead: the "
                "forecast's regressor, stored with the run."
            ),
        ] = None,
        by: Annotated[
            ForecastLevelEnum,  # type: ignore[valid-type]
            strawberry.argument(
                description="What is forecast below each SKU: REGION (its regions, where the "
                "sales name them) or CHANNEL (its sales channels)."
            ),
        ] = ForecastLevel.REGION,
    ) -> RunForecastResult:  # fmt: skip
        context = info.context

        async def call() -> ForecastRun:
            capped("promotions", promotions, forecasts.MAX_PROMOTIONS)
            return await mutate(
                context, forecasts.run_forecast, runtime=context.runtime, brand=brand,
                horizon=horizon, season_length=season_length, n_windows=windows,
                promotions=[p.to_service() for p in promotions or []], split=by,
            )  # fmt: skip

        result = await attempt(call())
        if isinstance(result, YunfabError):
            return RunForecastError.of(result)
        return RunForecastSuccess(forecast=ForecastRunType.from_model(result))

    @strawberry.mutation(
        description="Net requirements from a forecast (the brand's latest unless named) as "
        "production proposals; open ones inside the frozen horizon stay, the others move."
    )
    async def plan_production(
        self, info: Info[NodeContext, None], brand: BrandArgument = None,
        forecast_id: uuid.UUID | None = None, as_of: dt.date | None = None,
    ) -> PlanProductionResult:  # fmt: skip
        context = info.context
        result = await attempt(
            mutate(
                context, plans.plan_production, runtime=context.runtime, brand=brand,
                forecast_id=forecast_id, as_of=as_of,
            )
        )  # fmt: skip
        if isinstance(result, YunfabError):
            return PlanProductionError.of(result)
        plan, accepted = result
        return PlanProductionSuccess(
            plan=PlanType.from_model(plan),
            auto_accepted=[LotType.from_lot(lot) for lot in accepted.lots] if accepted else [],
        )

    @strawberry.mutation(
        description="Accept proposals (the node operator): each product variant and week "
        "becomes one order in the brand's name, planned over the node's factories."
    )
    async def accept_proposals(
        self, info: Info[NodeContext, None], ids: list[uuid.UUID], plan: bool = True
    ) -> AcceptProposalsResult:
        context = info.context

        async def call() -> plans.Acceptance:
            capped("ids", ids, 500)
            return await mutate(
                context, plans.accept_proposals, runtime=context.runtime, proposal_ids=ids,
                plan=plan,
            )  # fmt: skip

        result = await attempt(call())
        if isinstance(result, YunfabError):
            return AcceptProposalsError.of(result)
        return AcceptProposalsSuccess(
            proposals=[ProposalType.from_model(p) for p in result.proposals],
            lots=[LotType.from_lot(lot) for lot in result.lots],
        )

    @strawberry.mutation(description="Turn proposals down (the node operator).")
    async def reject_proposals(
        self, info: Info[NodeContext, None], ids: list[uuid.UUID], reason: str
    ) -> RejectProposalsResult:
        context = info.context

        async def call() -> list[ProposalType]:
            capped("ids", ids, 500)
            rows = await mutate(
                context, plans.reject_proposals, runtime=context.runtime, proposal_ids=ids,
                reason=reason,
            )  # fmt: skip
            return [ProposalType.from_model(p) for p in rows]

        result = await attempt(call())
        if isinstance(result, YunfabError):
            return RejectProposalsError.of(result)
        return RejectProposalsSuccess(proposals=result)
