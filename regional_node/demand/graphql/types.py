"""GraphQL types of the demand domain, and the per-request loaders of their relations."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import uuid
from collections.abc import Sequence
from typing import Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from regional_node.demand import configuration, forecasts, plans, service
from regional_node.demand.models import (
    DemandPlan,
    DemandProduct,
    DemandSku,
    FeedStatus,
    ForecastLevel,
    ForecastPoint,
    ForecastRun,
    ProductionProposal,
    ProposalStatus,
    SalesFeed,
    SalesImport,
    SalesRecord,
)
from regional_node.graphql.context import NodeContext
from regional_node.orders.graphql.types import OrderType, RoutingStepType
from regional_node.orders.models import Order, Routing
from regional_node.orders.repository import RoutingRepository
from regional_node.orders.routings import steps_from_json
from yunfab.graphql.dataloaders import Loader, by_key, grouped, rows_by
from yunfab.graphql.pagination import Connection
from yunfab.graphql.resolvers import page_request

ProposalStatusEnum = strawberry.enum(
    ProposalStatus,
    name="ProposalStatus",
    description="proposed (waiting for the operator), accepted (an order), rejected, or "
    "superseded by a later plan.",
)
SalesFeedStatusEnum = strawberry.enum(
    FeedStatus,
    name="SalesFeedStatus",
    description="active (pulled on request, and in the background when it has a period) or "
    "stopped.",
)
ForecastLevelEnum = strawberry.enum(
    ForecastLevel,
    name="ForecastLevel",
    description="The brand's total, a product, a SKU, or a SKU in a region or a sales channel.",
)


@strawberry.enum(name="ProductOptionKind")
class OptionKind(enum.StrEnum):
    COLOUR = "colour"
    MATERIAL = "material"
    SIZE = "size"
    PERSONALISATION = "personalisation"


@strawberry.enum(name="RoutingChangeOp")
class ChangeOp(enum.StrEnum):
    ADD = "add"
    REMOVE = "remove"
    CHANGE = "change"


@strawberry.type(name="BomLine", description="A material per unit of the product.")
class BomLineType:
    item: str
    quantity: float
    unit: str

    @classmethod
    def from_line(cls, line: configuration.BomLine) -> BomLineType:
        return cls(item=line.item, quantity=line.quantity, unit=line.unit)


@strawberry.type(name="EquipmentParameter")
class ParameterType:
    name: str
    minimum: float


@strawberry.type(
    name="RoutingStepPatch",
    description="The fields of a step an option sets (all of a new step's, or those changed).",
)
class StepPatchType:
    name: str | None = None
    process: str | None = None
    equipment: str | None = None
    skills: list[str] | None = None
    after: list[str] | None = None
    hours_per_unit: float | None = None
    unit_cost: float | None = None
    yield_: float | None = strawberry.field(default=None, name="yield")
    lag_days: int | None = None
    parameters: list[ParameterType] | None = None


def _patch(fields: dict[str, Any]) -> StepPatchType:
    values = dict(fields)
    parameters = values.pop("parameters", None)
    good = values.pop("yield", None)
    return StepPatchType(
        **values,
        yield_=good,
        parameters=(
            None
            if parameters is None
            else [ParameterType(name=k, minimum=float(v)) for k, v in dict(parameters).items()]
        ),
    )


@strawberry.type(name="RoutingChange")
class RoutingChangeType:
    op: ChangeOp
    step: str = strawberry.field(description="The step's id.")
    set: StepPatchType | None = strawberry.field(
        description="add: the new step; change: the fields changed; remove: null."
    )

    @classmethod
    def from_change(cls, change: configuration.RoutingChange) -> RoutingChangeType:
        return cls(
            op=ChangeOp(change.op),
            step=change.step,
            set=None if change.op == "remove" else _patch(dict(change.fields)),
        )


@strawberry.type(name="ProductOptionValue")
class OptionValueType:
    value: str
    routing: list[RoutingChangeType] = strawberry.field(
        description="How the value changes the base routing (empty: it does not)."
    )
    bom: list[BomLineType] = strawberry.field(
        description="Lines it adds to the bill, or replaces there (quantity 0 drops one)."
    )


@strawberry.type(name="ProductOption")
class OptionType:
    name: str
    kind: OptionKind
    values: list[OptionValueType]

    @classmethod
    def from_option(cls, option: configuration.Option) -> OptionType:
        return cls(
            name=option.name,
            kind=OptionKind(option.kind),
            values=[
                OptionValueType(
                    value=v.value,
                    routing=[RoutingChangeType.from_change(c) for c in v.routing],
                    bom=[BomLineType.from_line(line) for line in v.bom],
                )
                for v in option.values
            ],
        )


@strawberry.type(
    name="ConfigurableProduct",
    description="A brand's product, configured by options into SKUs and made on a routing.",
)
class ProductType:
    id: uuid.UUID
    brand: str = strawberry.field(description="The brand's organization id.")
    slug: str
    name: str
    base_product: str = strawberry.field(description="The routing's product it is made on.")
    options: list[OptionType]
    bom: list[BomLineType] = strawberry.field(description="The base bill of materials.")
    min_lot: int
    lot_multiple: int
    service_level: float = strawberry.field(
        description="The forecast quantile proposals cover: 0.9 makes stock for the 90th "
        "percentile of each week's demand."
    )
    frozen_weeks: int
    auto_accept_up_to: int | None = strawberry.field(
        description="The operator's rule: proposals up to this many units are accepted as "
        "they are made."
    )
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    model: strawberry.Private[DemandProduct]

    @classmethod
    def from_model(cls, row: DemandProduct) -> ProductType:
        config = service.product_configuration(row)
        return cls(
            id=row.id,
            brand=row.brand_org,
            slug=row.slug,
            name=row.name,
            base_product=row.base_product,
            options=[OptionType.from_option(o) for o in config.options],
            bom=[BomLineType.from_line(line) for line in config.bom],
            min_lot=row.min_lot,
            lot_multiple=row.lot_multiple,
            service_level=row.service_level,
            frozen_weeks=row.frozen_weeks,
            auto_accept_up_to=row.auto_accept_up_to,
            created_by=row.created_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
            model=row,
        )

    @strawberry.field(description="Its SKUs, by code.")
    async def skus(self, info: Info[NodeContext, None]) -> list[SkuType]:
        return [SkuType.from_model(row) for row in await SkusOfProductLoader.of(info).load(self.id)]


@strawberry.type(name="SkuOption")
class SkuOptionType:
    name: str
    value: str


@strawberry.type(name="Sku", description="A product with a value chosen for each option.")
class SkuType:
    id: uuid.UUID
    code: str = strawberry.field(description="The brand's SKU code, as its sales name it.")
    brand: str
    product_id: uuid.UUID
    options: list[SkuOptionType]
    variant: str = strawberry.field(
        description="Its routing variant: empty for the base routing; SKUs of one variant are "
        "made in the same production lots."
    )
    stock_on_hand: float
    stock_at: dt.datetime | None
    created_at: dt.datetime
    model: strawberry.Private[DemandSku]

    @classmethod
    def from_model(cls, row: DemandSku) -> SkuType:
        return cls(
            id=row.id,
            code=row.code,
            brand=row.brand_org,
            product_id=row.product_id,
            options=[SkuOptionType(name=k, value=v) for k, v in row.options.items()],
            variant=row.variant,
            stock_on_hand=row.stock_on_hand,
            stock_at=row.stock_at,
            created_at=row.created_at,
            model=row,
        )

    @strawberry.field
    async def product(self, info: Info[NodeContext, None]) -> ProductType:
        row = await ProductLoader.of(info).load(self.product_id)
        assert row is not None  # a foreign key
        return ProductType.from_model(row)

    @strawberry.field(description="Its bill of materials: the product's, with its values'.")
    async def bom(self, info: Info[NodeContext, None]) -> list[BomLineType]:
        product = await ProductLoader.of(info).load(self.product_id)
        assert product is not None
        config = service.product_configuration(product)
        choice = configuration.choose(config, self.model.options)
        return [BomLineType.from_line(line) for line in configuration.bill(config, choice)]

    @strawberry.field(
        description="The steps it is made in: the base routing's latest version with its "
        "values' changes; null when the base routing is gone."
    )
    async def routing(self, info: Info[NodeContext, None]) -> list[RoutingStepType] | None:
        product = await ProductLoader.of(info).load(self.product_id)
        assert product is not None
        base = await BaseRoutingLoader.of(info).load(product.base_product)
        if base is None:
            return None
        config = service.product_configuration(product)
        choice = configuration.choose(config, self.model.options)
        steps = steps_from_json(base.steps)
        if choice.variant:
            steps = configuration.variant_routing(
                steps, base.unit, product.slug, choice, name=product.name
            ).steps
        return [
            RoutingStepType(
                id=s.id, name=s.name, process=s.process, equipment=s.equipment,
                skills=list(s.skills), after=list(s.after), hours_per_unit=s.hours_per_unit,
                unit_cost=s.unit_cost, yield_=s.yield_, lag_days=s.lag_days,
            )
            for s in steps
        ]  # fmt: skip


@strawberry.type(name="SalesRecord", description="Units of a SKU sold (negative: returned).")
class SalesRecordType:
    id: uuid.UUID
    sku_id: uuid.UUID
    day: dt.date
    channel: str
    region: str
    quantity: float
    import_id: uuid.UUID

    @classmethod
    def from_model(cls, row: SalesRecord) -> SalesRecordType:
        return cls(
            id=row.id,
            sku_id=row.sku_id,
            day=row.day,
            channel=row.channel,
            region=row.region,
            quantity=row.quantity,
            import_id=row.import_id,
        )

    @strawberry.field
    async def sku(self, info: Info[NodeContext, None]) -> SkuType:
        row = await SkuLoader.of(info).load(self.sku_id)
        assert row is not None
        return SkuType.from_model(row)


@strawberry.type(name="SalesGap", description="Weeks without a row inside a SKU's history.")
class SalesGapType:
    sku: str
    first_week: dt.date
    last_week: dt.date
    weeks: int
    message: str


@strawberry.type(name="SalesFeedColumn", description="A sales column and the field holding it.")
class SalesFeedColumnType:
    column: str = strawberry.field(description="sku, date, quantity, channel or region.")
    field: str = strawberry.field(description="The data product's field.")


@strawberry.type(
    name="SalesFeed",
    description="A brand's sales data product at the hub that the node takes in under an "
    "agreement: pulled with the node's credentials while the agreement holds.",
)
class SalesFeedType:
    id: uuid.UUID
    brand: str
    contract_id: uuid.UUID = strawberry.field(description="The agreement at the hub.")
    product_id: uuid.UUID = strawberry.field(description="The data product at the hub.")
    product_key: str
    product_title: str
    columns: list[SalesFeedColumnType]
    every_minutes: int | None = strawberry.field(
        description="Pulled in the background this often; null: only when asked."
    )
    status: SalesFeedStatusEnum  # type: ignore[valid-type]
    last_pull_at: dt.datetime | None
    last_outcome: str | None = strawberry.field(
        description="ok, refused (by the hub: the agreement ended, the hub down) or invalid "
        "(a row did not pass the import's checks; nothing was imported)."
    )
    last_message: str | None
    last_rows: int | None = strawberry.field(description="Rows read at the last good pull.")
    last_added: int | None
    last_corrected: int | None
    last_unchanged: int | None
    created_by: str
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: SalesFeed) -> SalesFeedType:
        counts = row.last_counts or {}
        return cls(
            id=row.id,
            brand=row.brand_org,
            contract_id=row.contract_id,
            product_id=row.product_id,
            product_key=row.product_key,
            product_title=row.product_title,
            columns=[SalesFeedColumnType(column=c, field=f) for c, f in row.columns.items()],
            every_minutes=row.every_minutes,
            status=row.status,
            last_pull_at=row.last_pull_at,
            last_outcome=row.last_outcome,
            last_message=row.last_message,
            last_rows=counts.get("rows"),
            last_added=counts.get("added"),
            last_corrected=counts.get("corrected"),
            last_unchanged=counts.get("unchanged"),
            created_by=row.created_by,
            created_at=row.created_at,
        )


@strawberry.type(name="SalesImport", description="Sales stored together, every row or none.")
class SalesImportType:
    id: uuid.UUID
    brand: str
    source: str
    rows: int
    first_day: dt.date
    last_day: dt.date
    warnings: list[SalesGapType] = strawberry.field(
        description="Weeks without sales inside a SKU's history: counted as none."
    )
    created_by: str
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: SalesImport) -> SalesImportType:
        return cls(
            id=row.id,
            brand=row.brand_org,
            source=row.source,
            rows=row.rows,
            first_day=row.first_day,
            last_day=row.last_day,
            warnings=[
                SalesGapType(
                    sku=w["sku"],
                    first_week=dt.date.fromisoformat(w["from"]),
                    last_week=dt.date.fromisoformat(w["to"]),
                    weeks=int(w["weeks"]),
                    message=w["message"],
                )
                for w in row.warnings
            ],
            created_by=row.created_by,
            created_at=row.created_at,
        )


@strawberry.type(name="ImportProblem", description="Why a row of an upload was refused.")
class ImportProblemType:
    row: int | None = strawberry.field(
        description="The line in a CSV file (the header is line 1), the row (from 1) in a "
        "Parquet file or in the mutation's list; null for the file as a whole."
    )
    column: str | None
    message: str


@strawberry.type(name="ForecastPoint", description="One week of a series' forecast.")
class ForecastPointType:
    week: dt.date = strawberry.field(description="The week's Monday.")
    mean: float
    q50: float
    q80: float
    q90: float
    q95: float
    lo90: float = strawberry.field(description="The 90% interval's lower end.")
    hi90: float
    actual: float | None = strawberry.field(
        description="Units sold that week, once they have come in."
    )


@strawberry.type(name="ForecastSeries")
class ForecastSeriesType:
    name: str = strawberry.field(
        description="total, a product's slug, <product>/<sku code>, or "
        "<product>/<sku code>/<region> (or /<channel> in a forecast by channel)."
    )
    level: ForecastLevelEnum  # type: ignore[valid-type]
    product_id: uuid.UUID | None
    sku_id: uuid.UUID | None
    region: str | None = strawberry.field(
        description="The region of a REGION series (unassigned: sales without one)."
    )
    channel: str | None = strawberry.field(
        description="The sales channel of a CHANNEL series (unassigned: sales without one)."
    )
    model: str | None = strawberry.field(
        description="The model cross-validation chose for it (a Combo is a mean of models)."
    )
    points: list[ForecastPointType]


@strawberry.type(name="AccuracyFigures")
class AccuracyFiguresType:
    mase: float | None = strawberry.field(description="Mean absolute scaled error.")
    rmsse: float | None = strawberry.field(description="Root mean squared scaled error.")
    bias: float | None = strawberry.field(
        description="Forecast less actual: per series the mean, pooled over the actuals' sum."
    )
    coverage: float | None = strawberry.field(description="Share of actuals in the 90% interval.")
    rmse: float | None
    scaled_pinball: float | None = strawberry.field(
        description="Pinball loss over the quantiles, scaled as MASE."
    )


@strawberry.type(name="SeriesAccuracy")
class SeriesAccuracyType:
    series: str
    weeks: int
    figures: AccuracyFiguresType


@strawberry.type(
    name="ForecastAccuracy",
    description="How a forecast did on the weeks whose sales have come in since.",
)
class AccuracyType:
    forecast_id: uuid.UUID
    weeks: int = strawberry.field(description="Forecast weeks with actuals (0: none yet).")
    pooled: AccuracyFiguresType | None = strawberry.field(
        description="Over every series: MASE and RMSSE their means, coverage over all points."
    )
    series: list[SeriesAccuracyType]

    @classmethod
    def from_result(cls, result: forecasts.Accuracy) -> AccuracyType:
        return cls(
            forecast_id=result.run.id,
            weeks=result.weeks,
            pooled=None if result.pooled is None else _figures(result.pooled),
            series=[
                SeriesAccuracyType(
                    series=str(row["unique_id"]), weeks=int(row.get("n") or 0),
                    figures=_figures(row),
                )
                for row in result.series
            ],
        )  # fmt: skip


def _figures(row: dict[str, Any]) -> AccuracyFiguresType:
    def number(key: str) -> float | None:
        value = row.get(key)
        return None if value is None else float(value)

    return AccuracyFiguresType(
        mase=number("mase"),
        rmsse=number("rmsse"),
        bias=number("bias"),
        coverage=number("coverage"),
        rmse=number("rmse"),
        scaled_pinball=number("scaled_pinball"),
    )


@strawberry.type(name="ChosenModel")
class ChosenModelType:
    series: str
    model: str


@strawberry.type(name="Promotion")
class PromotionType:
    sku: str
    week: dt.date = strawberry.field(description="Its Monday.")
    promotion: float


@strawberry.type(name="DemandClassCount")
class DemandClassCountType:
    demand_class: str = strawberry.field(description="smooth, erratic, intermittent or lumpy.")
    series: int


@strawberry.type(
    name="ForecastRun",
    description="A forecast of a brand's weekly sales, reconciled SKU -> product -> total.",
)
class ForecastRunType:
    id: uuid.UUID
    brand: str
    horizon: int = strawberry.field(description="Weeks forecast.")
    freq: str
    season_length: int | None
    level: int = strawberry.field(description="The interval's coverage in percent.")
    quantiles: list[float]
    history_start: dt.date
    history_end: dt.date = strawberry.field(description="The last week of sales it learnt from.")
    first_week: dt.date
    skus: int
    elapsed_s: float
    created_by: str
    created_at: dt.datetime
    chosen_models: list[ChosenModelType]
    reconciliation: str | None = strawberry.field(
        description="How the means were made coherent: MinTrace(mint_shrink), "
        "MinTrace(wls_struct) or BottomUp."
    )
    filled_weeks: int = strawberry.field(
        description="Weeks without sales inside the history, taken as none."
    )
    returns: int = strawberry.field(description="Negative weeks (returns), counted as no demand.")
    demand_classes: list[DemandClassCountType]
    promotions: list[PromotionType] = strawberry.field(
        description="The promotions it was given (the regressor), past and ahead."
    )
    by: ForecastLevelEnum = strawberry.field(  # type: ignore[valid-type]
        description="What it forecast below each SKU: REGION (where the sales name regions) "
        "or CHANNEL."
    )
    model: strawberry.Private[ForecastRun]

    @classmethod
    def from_model(cls, row: ForecastRun) -> ForecastRunType:
        return cls(
            id=row.id,
            brand=row.brand_org,
            horizon=row.horizon,
            freq=row.freq,
            season_length=row.season_length,
            level=row.level,
            quantiles=list(row.quantiles),
            history_start=row.history_start,
            history_end=row.history_end,
            first_week=row.history_end + dt.timedelta(days=7),
            skus=row.skus,
            elapsed_s=row.elapsed_s,
            created_by=row.created_by,
            created_at=row.created_at,
            chosen_models=[
                ChosenModelType(series=k, model=v) for k, v in sorted(row.chosen.items())
            ],
            reconciliation=row.details.get("reconciliation"),
            by=ForecastLevel(row.details.get("split", ForecastLevel.REGION.value)),
            filled_weeks=int(row.details.get("filled_weeks", 0)),
            returns=int(row.details.get("returns", 0)),
            demand_classes=[
                DemandClassCountType(demand_class=k, series=int(v))
                for k, v in row.details.get("demand_classes", {}).items()
            ],
            promotions=[
                PromotionType(
                    sku=p["sku"],
                    week=dt.date.fromisoformat(p["week"]),
                    promotion=float(p["promotion"]),
                )
                for p in row.details.get("promotions", [])
            ],  # fmt: skip
            model=row,
        )

    @strawberry.field(
        description="Its series (total, products, SKUs), by name, each with its weeks and the "
        "actuals that have come in."
    )
    async def series(
        self,
        info: Info[NodeContext, None],
        level: ForecastLevelEnum | None = None,  # type: ignore[valid-type]
        first: int = 50,
        after: str | None = None,
    ) -> Connection[ForecastSeriesType]:
        context = info.context
        page = await forecasts.forecast_series(
            context.session, self.model, level=level,
            page=page_request(context, first, after, arity=1),
        )  # fmt: skip
        loader = PointsLoader.of(info)
        points = dict(zip(page.rows, await asyncio.gather(
            *(loader.load((self.id, name)) for name in page.rows)
        ), strict=True))  # fmt: skip
        actuals = await RunActualsLoader.of(info).load(self.id)
        return Connection[ForecastSeriesType].from_page(
            page,
            key=lambda name: (name,),
            node=lambda name: _series(self.model, name, points[name], actuals),
            after=after,
        )


def _series(
    run: ForecastRun,
    name: str,
    points: Sequence[ForecastPoint],
    actuals: dict[str, dict[dt.date, float]],
) -> ForecastSeriesType:
    first = points[0] if points else None
    seen = actuals.get(name, {})
    return ForecastSeriesType(
        name=name,
        level=first.level if first else ForecastLevel.SKU,
        product_id=first.product_id if first else None,
        sku_id=first.sku_id if first else None,
        region=name.rsplit("/", 1)[1]
        if first is not None and first.level == ForecastLevel.REGION
        else None,
        channel=name.rsplit("/", 1)[1]
        if first is not None and first.level == ForecastLevel.CHANNEL
        else None,
        model=run.chosen.get(name),
        points=[
            ForecastPointType(
                week=p.week, mean=p.mean, q50=p.q50, q80=p.q80, q90=p.q90, q95=p.q95,
                lo90=p.lo90, hi90=p.hi90, actual=seen.get(p.week),
            )
            for p in points
        ],
    )  # fmt: skip


@strawberry.type(name="ProposalMove", description="A SKU's units in a week, before and after.")
class MoveType:
    sku_id: uuid.UUID
    sku: str
    week: dt.date
    before: int
    after: int
    change: int
    frozen: bool


@strawberry.type(
    name="FactoryMove",
    description="A factory's share of the proposals for the product, variant and weeks it "
    "already has accepted lots of, before and after a re-plan: the proposals' units split in "
    "proportion to its units in those lots' current plans (an estimate until they are "
    "accepted).",
)
class FactoryMoveType:
    factory_id: uuid.UUID
    factory: str = strawberry.field(description="The factory's name.")
    before: float
    after: float
    change: float


@strawberry.type(
    name="DemandPlanEffect",
    description="What a plan moved against the proposals open before it.",
)
class PlanEffectType:
    first_plan: bool
    units_before: int
    units_after: int
    kept_frozen: int = strawberry.field(
        description="Open proposals kept as they were: inside their product's frozen horizon."
    )
    moves: list[MoveType]
    factories: list[FactoryMoveType] = strawberry.field(
        description="Factories that gain or lose work: see FactoryMove."
    )
    auto_accepted: list[uuid.UUID]


@strawberry.type(
    name="DemandPlan",
    description="Net requirements from a forecast, as production proposals.",
)
class PlanType:
    id: uuid.UUID
    brand: str
    forecast_id: uuid.UUID
    as_of: dt.date
    frozen_until: dt.date
    effect: PlanEffectType
    created_by: str
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: DemandPlan) -> PlanType:
        effect = row.effect or {}
        return cls(
            id=row.id,
            brand=row.brand_org,
            forecast_id=row.forecast_run_id,
            as_of=row.as_of,
            frozen_until=row.frozen_until,
            effect=PlanEffectType(
                first_plan=bool(effect.get("first_plan", True)),
                units_before=int(effect.get("units_before", 0)),
                units_after=int(effect.get("units_after", 0)),
                kept_frozen=int(effect.get("kept_frozen", 0)),
                moves=[
                    MoveType(
                        sku_id=uuid.UUID(m["sku_id"]),
                        sku=m["sku"],
                        week=dt.date.fromisoformat(m["week"]),
                        before=m["before"],
                        after=m["after"],
                        change=m["change"],
                        frozen=m["frozen"],
                    )
                    for m in effect.get("moves", [])
                ],
                factories=[
                    FactoryMoveType(
                        factory_id=uuid.UUID(f["factory_id"]),
                        factory=f["factory"],
                        before=f["before"],
                        after=f["after"],
                        change=f["change"],
                    )
                    for f in effect.get("factories", [])
                ],
                auto_accepted=[uuid.UUID(i) for i in effect.get("auto_accepted", [])],
            ),  # fmt: skip
            created_by=row.created_by,
            created_at=row.created_at,
        )


@strawberry.type(
    name="ProductionProposal",
    description="Units of a SKU to have made by a week: its net requirement as a lot.",
)
class ProposalType:
    id: uuid.UUID
    brand: str
    plan_id: uuid.UUID
    sku_id: uuid.UUID
    product_id: uuid.UUID
    variant: str
    week: dt.date = strawberry.field(description="The week the units are needed in (Monday).")
    release: dt.date = strawberry.field(description="When production must start.")
    lead_time_days: int
    quantity: int
    requirement: float = strawberry.field(description="The net requirement before lot sizing.")
    demand: float = strawberry.field(description="The forecast's mean for the week.")
    safety: float = strawberry.field(
        description="Safety stock: the quantile at the service level less the mean."
    )
    stock: float = strawberry.field(description="Projected stock at the start of the week.")
    service_level: float
    frozen: bool = strawberry.field(description="Kept from an earlier plan (frozen horizon).")
    late: bool = strawberry.field(description="Its release date had passed when proposed.")
    status: ProposalStatusEnum  # type: ignore[valid-type]
    order_id: uuid.UUID | None
    decided_by: str | None
    decided_at: dt.datetime | None
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: ProductionProposal) -> ProposalType:
        return cls(
            id=row.id,
            brand=row.brand_org,
            plan_id=row.plan_id,
            sku_id=row.sku_id,
            product_id=row.product_id,
            variant=row.variant,
            week=row.week,
            release=row.release,
            lead_time_days=row.lead_time_days,
            quantity=row.quantity,
            requirement=row.requirement,
            demand=row.demand,
            safety=row.safety,
            stock=row.stock,
            service_level=row.service_level,
            frozen=row.frozen,
            late=row.late,
            status=row.status,
            order_id=row.order_id,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            created_at=row.created_at,
        )

    @strawberry.field
    async def sku(self, info: Info[NodeContext, None]) -> SkuType:
        row = await SkuLoader.of(info).load(self.sku_id)
        assert row is not None
        return SkuType.from_model(row)

    @strawberry.field(
        description="The production lot's order once accepted: followed through the twelve "
        "stages like any buyer's."
    )
    async def order(self, info: Info[NodeContext, None]) -> OrderType | None:
        if self.order_id is None:
            return None
        row = await OrderLoader.of(info).load(self.order_id)
        return None if row is None else OrderType.from_model(row)


@strawberry.type(
    name="ProductionLot",
    description="Accepted proposals of one product variant and week, placed as one order.",
)
class LotType:
    product: str
    variant: str
    week: dt.date
    quantity: int
    proposal_ids: list[uuid.UUID]
    order: OrderType | None
    planned: bool = strawberry.field(
        description="Allocated over the node's factories (false: see problem)."
    )
    problem: str | None

    @classmethod
    def from_lot(cls, lot: plans.Lot) -> LotType:
        return cls(
            product=lot.product,
            variant=lot.variant,
            week=lot.week,
            quantity=lot.quantity,
            proposal_ids=lot.proposals,
            order=None if lot.order is None else OrderType.from_model(lot.order),
            planned=lot.planned,
            problem=lot.problem,
        )


# Relations of every row of a page: one query per relation.


class ProductLoader(Loader[uuid.UUID, DemandProduct | None]):
    async def batch_load(self, keys: list[uuid.UUID]) -> list[DemandProduct | None]:
        return await rows_by(self.context.session, DemandProduct, DemandProduct.id, keys)


class SkuLoader(Loader[uuid.UUID, DemandSku | None]):
    async def batch_load(self, keys: list[uuid.UUID]) -> list[DemandSku | None]:
        return await rows_by(self.context.session, DemandSku, DemandSku.id, keys)


class SkusOfProductLoader(Loader[uuid.UUID, list[DemandSku]]):
    async def batch_load(self, keys: list[uuid.UUID]) -> list[list[DemandSku]]:
        rows = await self.context.session.scalars(
            select(DemandSku).where(DemandSku.product_id.in_(keys)).order_by(DemandSku.code)
        )
        return grouped(keys, rows, lambda row: row.product_id, lambda row: row)


class OrderLoader(Loader[uuid.UUID, Order | None]):
    async def batch_load(self, keys: list[uuid.UUID]) -> list[Order | None]:
        return await rows_by(self.context.session, Order, Order.id, keys)


class BaseRoutingLoader(Loader[str, Routing | None]):
    """The latest usable routing of each base product."""

    async def batch_load(self, keys: list[str]) -> list[Routing | None]:
        rows = await RoutingRepository(self.context.session).latest_usable_per_product()
        return by_key(keys, rows, lambda row: row.product, lambda row: row)


class PointsLoader(Loader[tuple[uuid.UUID, str], list[ForecastPoint]]):
    """The weeks of every (run, series) on a page, in one query."""

    async def batch_load(self, keys: list[tuple[uuid.UUID, str]]) -> list[list[ForecastPoint]]:
        rows = await self.context.session.scalars(
            select(ForecastPoint)
            .where(
                ForecastPoint.run_id.in_({run for run, _ in keys}),
                ForecastPoint.series.in_({series for _, series in keys}),
            )
            .order_by(ForecastPoint.series, ForecastPoint.week)
        )
        found: dict[tuple[uuid.UUID, str], list[ForecastPoint]] = {key: [] for key in keys}
        for row in rows:
            if (row.run_id, row.series) in found:
                found[(row.run_id, row.series)].append(row)
        return [found[key] for key in keys]


class RunActualsLoader(Loader[uuid.UUID, dict[str, dict[dt.date, float]]]):
    """Units sold per series and week since each run's history ended."""

    async def batch_load(self, keys: list[uuid.UUID]) -> list[dict[str, dict[dt.date, float]]]:
        found = []
        for key in keys:
            run = await self.context.session.get(ForecastRun, key)
            found.append({} if run is None else await forecasts.actual_weeks(
                self.context.session, run
            ))  # fmt: skip
        return found
