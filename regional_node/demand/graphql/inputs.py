"""What the demand mutations take, and its conversion to the services' input."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry

from regional_node.demand import forecasts, sales, service
from regional_node.demand.graphql.types import ChangeOp, OptionKind
from yunfab.errors import InvalidInput


def capped(name: str, values: list[Any] | None, cap: int) -> None:
    if values is not None and len(values) > cap:
        raise InvalidInput(f"{name}: at most {cap}")


@strawberry.input(name="EquipmentParameterInput")
class ParameterInput:
    name: str
    minimum: float


@strawberry.input(name="RoutingStepPatchInput")
class StepPatchInput:
    name: str | None = None
    process: str | None = None
    equipment: str | None = None
    skills: list[str] | None = None
    after: list[str] | None = None
    hours_per_unit: float | None = None
    unit_cost: float | None = None
    yield_: float | None = strawberry.field(default=None, name="yield")
    lag_days: int | None = None
    parameters: list[ParameterInput] | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name, "process": self.process, "equipment": self.equipment,
            "skills": self.skills, "after": self.after, "hours_per_unit": self.hours_per_unit,
            "unit_cost": self.unit_cost, "yield": self.yield_, "lag_days": self.lag_days,
        }  # fmt: skip
        if self.parameters is not None:
            capped("parameters", self.parameters, 20)
            data["parameters"] = {p.name: p.minimum for p in self.parameters}
        return {key: value for key, value in data.items() if value is not None}


@strawberry.input(name="RoutingChangeInput")
class ChangeInput:
    op: ChangeOp
    step: str = strawberry.field(description="The step's id (a new one's, for add).")
    set: StepPatchInput | None = strawberry.field(
        default=None, description="add: the new step's fields; change: the fields to change."
    )

    def as_json(self) -> dict[str, Any]:
        fields = self.set.as_json() if self.set is not None else {}
        if self.op is ChangeOp.ADD:
            return {"op": "add", "step": {"id": self.step, **fields}}
        if self.op is ChangeOp.REMOVE:
            return {"op": "remove", "step": self.step}
        return {"op": "change", "step": self.step, "set": fields}


@strawberry.input(name="BomLineInput")
class BomLineInput:
    item: str
    quantity: float = strawberry.field(description="Per unit of the product.")
    unit: str = "pcs"

    def as_json(self) -> dict[str, Any]:
        return {"item": self.item, "quantity": self.quantity, "unit": self.unit}


@strawberry.input(name="ProductOptionValueInput")
class OptionValueInput:
    value: str
    routing: list[ChangeInput] = strawberry.field(default_factory=list)
    bom: list[BomLineInput] = strawberry.field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        capped("routing", self.routing, 20)
        capped("bom", self.bom, 100)
        return {
            "value": self.value,
            "routing": [c.as_json() for c in self.routing],
            "bom": [line.as_json() for line in self.bom],
        }


@strawberry.input(name="ProductOptionInput")
class OptionInput:
    name: str
    kind: OptionKind
    values: list[OptionValueInput]

    def as_json(self) -> dict[str, Any]:
        capped("values", self.values, 50)
        return {
            "name": self.name,
            "kind": self.kind.value,
            "values": [v.as_json() for v in self.values],
        }


def options_json(options: list[OptionInput] | None) -> list[dict[str, Any]] | None:
    if options is None:
        return None
    capped("options", options, 8)
    return [o.as_json() for o in options]


def bom_json(lines: list[BomLineInput] | None) -> list[dict[str, Any]] | None:
    if lines is None:
        return None
    capped("bom", lines, 100)
    return [line.as_json() for line in lines]


@strawberry.input(name="CreateProductInput")
class CreateProductInput:
    slug: str
    name: str
    base_product: str = strawberry.field(
        description="The product of the routing (imported by the operator) its SKUs are made on."
    )
    options: list[OptionInput] = strawberry.field(default_factory=list)
    bom: list[BomLineInput] = strawberry.field(default_factory=list)
    min_lot: int = 1
    lot_multiple: int = 1
    service_level: float = strawberry.field(
        default=0.9, description="0.5, 0.8, 0.9 or 0.95: the forecast quantile to stock for."
    )
    frozen_weeks: int = 2
    brand: str | None = strawberry.field(
        default=None, description="The brand's organization id (default: yours)."
    )

    def to_service(self) -> service.NewProduct:
        return service.NewProduct(
            slug=self.slug, name=self.name, base_product=self.base_product,
            options=options_json(self.options) or [], bom=bom_json(self.bom) or [],
            min_lot=self.min_lot, lot_multiple=self.lot_multiple,
            service_level=self.service_level, frozen_weeks=self.frozen_weeks, brand=self.brand,
        )  # fmt: skip


@strawberry.input(name="UpdateProductInput", description="Fields left out stay as they are.")
class UpdateProductInput:
    name: str | None = None
    base_product: str | None = None
    options: list[OptionInput] | None = None
    bom: list[BomLineInput] | None = None
    min_lot: int | None = None
    lot_multiple: int | None = None
    service_level: float | None = None
    frozen_weeks: int | None = None

    def to_service(self) -> service.ProductChanges:
        return service.ProductChanges(
            name=self.name, base_product=self.base_product, options=options_json(self.options),
            bom=bom_json(self.bom), min_lot=self.min_lot, lot_multiple=self.lot_multiple,
            service_level=self.service_level, frozen_weeks=self.frozen_weeks,
        )  # fmt: skip


@strawberry.input(name="SkuOptionInput")
class SkuOptionInput:
    name: str
    value: str


@strawberry.input(name="SkuInput")
class SkuInput:
    code: str
    options: list[SkuOptionInput] = strawberry.field(default_factory=list)

    def to_service(self) -> service.NewSku:
        capped("options", self.options, 8)
        chosen: dict[str, str] = {}
        for option in self.options:
            if option.name in chosen:
                raise InvalidInput(f"{self.code}: option {option.name} is given twice")
            chosen[option.name] = option.value
        return service.NewSku(code=self.code, options=chosen)


@strawberry.input(name="StockInput", description="A SKU by id or by code, and its stock.")
class StockInput:
    on_hand: float
    sku_id: uuid.UUID | None = None
    code: str | None = None


@strawberry.input(name="SalesRowInput")
class SalesRowInput:
    sku: str = strawberry.field(description="The brand's SKU code.")
    date: dt.date = strawberry.field(description="The day, or any day of the week, sold in.")
    quantity: float = strawberry.field(description="Units sold; negative: returned.")
    channel: str | None = None
    region: str | None = None


def raw_rows(rows: list[SalesRowInput]) -> list[sales.RawRow]:
    return [
        sales.RawRow(
            row=index + 1, sku=row.sku, date=row.date, quantity=row.quantity,
            channel=row.channel, region=row.region,
        )
        for index, row in enumerate(rows)
    ]  # fmt: skip


@strawberry.input(name="PromotionInput")
class PromotionInput:
    sku: str = strawberry.field(description="The brand's SKU code.")
    week: dt.date = strawberry.field(description="Any day of the week on promotion.")
    promotion: float = strawberry.field(
        default=1.0, description="Its intensity: 1 for on promotion, or the discount's fraction."
    )

    def to_service(self) -> forecasts.Promotion:
        return forecasts.Promotion(sku=self.sku, week=self.week, promotion=self.promotion)
