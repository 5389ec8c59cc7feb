from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry
from sqlalchemy import select
from strawberry.permission import BasePermission
from strawberry.scalars import JSON
from strawberry.types import Info

from regional_node.factories.models import Factory
from regional_node.graphql.context import NodeContext
from regional_node.orders import service
from regional_node.orders.graphql.explanation import PlanExplanationType, ReplanEffectType
from regional_node.orders.models import (
    Order,
    OrderPlan,
    OrderStage,
    OrderStatus,
    PlanAllocation,
    ProgressEvent,
    Routing,
    WorkOrder,
    WorkOrderStatus,
)
from regional_node.orders.routings import steps_from_json
from yunfab.graphql.dataloaders import Loader, by_key, grouped, rows_by

OrderStageEnum = strawberry.enum(
    OrderStage, name="OrderStage", description="The twelve progress nodes, in order."
)
OrderStatusEnum = strawberry.enum(OrderStatus, name="OrderStatus")
WorkOrderStatusEnum = strawberry.enum(WorkOrderStatus, name="WorkOrderStatus")


@strawberry.type(name="RoutingStep")
class RoutingStepType:
    id: str
    name: str
    process: str = strawberry.field(description="The capacity calendar's process.")
    equipment: str | None
    skills: list[str]
    after: list[str]
    hours_per_unit: float
    unit_cost: float
    yield_: float = strawberry.field(name="yield")
    lag_days: int


@strawberry.type(name="Routing")
class RoutingType:
    id: uuid.UUID
    product: str
    version: int
    name: str
    unit: str
    source: str
    created_at: dt.datetime
    steps: list[RoutingStepType]

    @classmethod
    def from_model(cls, row: Routing) -> RoutingType:
        return cls(
            id=row.id,
            product=row.product,
            version=row.version,
            name=row.name,
            unit=row.unit,
            source=row.source,
            created_at=row.created_at,
            steps=[
                RoutingStepType(
                    id=s.id,
                    name=s.name,
                    process=s.process,
                    equipment=s.equipment,
                    skills=list(s.skills),
                    after=list(s.after),
                    hours_per_unit=s.hours_per_unit,
                    unit_cost=s.unit_cost,
                    yield_=s.yield_,
                    lag_days=s.lag_days,
                )
                for s in steps_from_json(row.steps)
            ],
        )


@strawberry.type(name="Allocation")
class AllocationType:
    step: str
    factory_id: uuid.UUID
    day: dt.date
    units: float

    @strawberry.field(description="The factory given the units, as people name it.")
    async def factory(self, info: Info[NodeContext, None]) -> FactoryRefType:
        return await FactoryRefLoader.of(info).load(self.factory_id)


class PlansTheOrder(BasePermission):
    """A plan's cost figures and explanation carry the factories' rates, costs per unit and
    capacity: the node operator's business with its factories. Who may plan the order sees
    them; its buyer sees the plan without them (FORBIDDEN on these fields)."""

    message = "not allowed"
    error_extensions = {"code": "FORBIDDEN"}

    async def has_permission(
        self, source: Any, info: Info[NodeContext, None], **kwargs: Any
    ) -> bool:
        # The order as the parent saw it: sibling fields resolve concurrently, and the
        # request's session takes one query at a time.
        return await info.context.allows("node.order.plan", source.order)


def _objective(root: OrderPlanType) -> float:
    return root.model.objective


def _bound(root: OrderPlanType) -> float:
    return root.model.bound


def _explanation(root: OrderPlanType) -> JSON:
    return root.model.explanation  # type: ignore[return-value]


def _effect(root: OrderPlanType) -> JSON | None:
    return root.model.effect  # type: ignore[return-value]


def _reasoning(root: OrderPlanType) -> PlanExplanationType:
    return PlanExplanationType.from_json(root.model.explanation)


def _replan_effect(root: OrderPlanType) -> ReplanEffectType | None:
    effect = root.model.effect
    return None if effect is None else ReplanEffectType.from_json(effect)


@strawberry.type(name="OrderPlan")
class OrderPlanType:
    id: uuid.UUID
    version: int
    reason: str
    status: str = strawberry.field(description="optimal or feasible (time limit reached).")
    objective: float = strawberry.field(resolver=_objective, permission_classes=[PlansTheOrder])
    bound: float = strawberry.field(
        resolver=_bound,
        description="The solver's proven lower bound.",
        permission_classes=[PlansTheOrder],
    )
    gap: float
    solve_time_s: float
    explanation: JSON = strawberry.field(
        resolver=_explanation,
        description="Why each factory, the constraints that bind, the gap, the risk left.",
        permission_classes=[PlansTheOrder],
        deprecation_reason="Use `reasoning` (typed; factories by slug, days as dates).",
    )
    effect: JSON | None = strawberry.field(
        resolver=_effect,
        description="For a re-plan: units moved, and the daily target before and after.",
        permission_classes=[PlansTheOrder],
        deprecation_reason="Use `replanEffect` (typed).",
    )
    reasoning: PlanExplanationType = strawberry.field(
        resolver=_reasoning,
        description="Why each factory, the constraints that bind, the risk left.",
        permission_classes=[PlansTheOrder],
    )
    replan_effect: ReplanEffectType | None = strawberry.field(
        resolver=_replan_effect,
        description="For a re-plan: units moved, and the daily target missed before and after.",
        permission_classes=[PlansTheOrder],
    )
    created_by: str
    created_at: dt.datetime
    model: strawberry.Private[OrderPlan]
    order: strawberry.Private[dict[str, Any]]
    """The plan's order as the policy sees it (`service.order_resource`)."""

    @classmethod
    def from_model(cls, row: OrderPlan, order: Order) -> OrderPlanType:
        assert row.order_id == order.id
        return cls(
            id=row.id,
            version=row.version,
            reason=row.reason,
            status=row.status,
            gap=row.gap,
            solve_time_s=row.solve_time_s,
            created_by=row.created_by,
            created_at=row.created_at,
            model=row,
            order=service.order_resource(order),
        )

    @strawberry.field(description="Units per step, factory and day.")
    async def allocations(self, info: Info[NodeContext, None]) -> list[AllocationType]:
        return [
            AllocationType(step=a.step, factory_id=a.factory_id, day=a.day, units=a.units)
            for a in await AllocationsLoader.of(info).load(self.id)
        ]


@strawberry.type(name="FactoryRef", description="Who a factory is, as people name it.")
class FactoryRefType:
    id: uuid.UUID
    name: str
    slug: str


class FactoryRefLoader(Loader[uuid.UUID, FactoryRefType]):
    """The factories of every work order in a response, in one query."""

    async def batch_load(self, keys: list[uuid.UUID]) -> list[FactoryRefType]:
        rows = await self.context.session.execute(
            select(Factory.id, Factory.name, Factory.slug).where(Factory.id.in_(keys))
        )
        found = {i: FactoryRefType(id=i, name=name, slug=slug) for i, name, slug in rows}
        return [found[i] for i in keys]


@strawberry.type(name="WorkOrderDay")
class WorkOrderDayType:
    day: dt.date
    planned: int
    produced: int = strawberry.field(description="Good units reported for the day.")


def _days(row: WorkOrder) -> list[WorkOrderDayType]:
    keys = sorted(set(row.daily) | set(row.produced))
    return [
        WorkOrderDayType(
            day=dt.date.fromisoformat(key),
            planned=int(row.daily.get(key, 0)),
            produced=int(row.produced.get(key, 0)),
        )
        for key in keys
    ]


@strawberry.type(name="WorkOrder")
class WorkOrderType:
    id: uuid.UUID
    order_id: uuid.UUID
    factory_id: uuid.UUID
    step: str
    process: str
    quantity: int
    daily: JSON = strawberry.field(
        description="Planned units per day (ISO date -> units).",
        deprecation_reason="Use `days` (typed).",
    )
    produced: JSON = strawberry.field(
        description="Good units reported per day.", deprecation_reason="Use `days` (typed)."
    )
    days: list[WorkOrderDayType] = strawberry.field(
        description="Units planned and made per day, oldest first."
    )
    start_date: dt.date
    end_date: dt.date
    status: WorkOrderStatusEnum  # type: ignore[valid-type]
    made: int
    scrapped: int
    plan_version: int
    completed_at: dt.datetime | None
    updated_at: dt.datetime

    @classmethod
    def from_model(cls, row: WorkOrder) -> WorkOrderType:
        return cls(
            id=row.id,
            order_id=row.order_id,
            factory_id=row.factory_id,
            step=row.step,
            process=row.process,
            quantity=row.quantity,
            daily=row.daily,  # type: ignore[arg-type]
            produced=row.produced,  # type: ignore[arg-type]
            days=_days(row),
            start_date=row.start_date,
            end_date=row.end_date,
            status=row.status,
            made=row.made,
            scrapped=row.scrapped,
            plan_version=row.plan_version,
            completed_at=row.completed_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The factory doing it.")
    async def factory(self, info: Info[NodeContext, None]) -> FactoryRefType:
        return await FactoryRefLoader.of(info).load(self.factory_id)


@strawberry.type(name="OrderEvent")
class OrderEventType:
    id: uuid.UUID
    order_id: uuid.UUID
    work_order_id: uuid.UUID | None
    kind: str = strawberry.field(
        description="placed, planned, dispatched, work_order, stage, replanned, cancelled."
    )
    stage: OrderStageEnum  # type: ignore[valid-type]
    detail: JSON = strawberry.field(
        description="JSON on purpose: what each kind of event records differs (a work report's "
        "units, a re-plan's reason, a stage's note) and grows with new kinds."
    )
    actor: str
    at: dt.datetime

    @classmethod
    def from_model(cls, row: ProgressEvent) -> OrderEventType:
        return cls(
            id=row.id,
            order_id=row.order_id,
            work_order_id=row.work_order_id,
            kind=row.kind,
            stage=row.stage,
            detail=row.detail,  # type: ignore[arg-type]
            actor=row.actor,
            at=row.at,
        )


@strawberry.type(name="OrderStageProgress")
class StageProgressType:
    stage: OrderStageEnum  # type: ignore[valid-type]
    reached: bool
    at: dt.datetime | None


@strawberry.type(name="Order")
class OrderType:
    id: uuid.UUID
    number: str
    buyer_org: str
    buyer_reference: str | None
    product: str
    quantity: int
    start_date: dt.date
    due_date: dt.date
    daily_target: int
    ramp_days: int
    stage: OrderStageEnum  # type: ignore[valid-type]
    status: OrderStatusEnum  # type: ignore[valid-type]
    plan_version: int
    note: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    model: strawberry.Private[Order]

    @classmethod
    def from_model(cls, row: Order) -> OrderType:
        return cls(
            id=row.id,
            number=row.number,
            buyer_org=row.buyer_org,
            buyer_reference=row.buyer_reference,
            product=row.product,
            quantity=row.quantity,
            start_date=row.start_date,
            due_date=row.due_date,
            daily_target=row.daily_target,
            ramp_days=row.ramp_days,
            stage=row.stage,
            status=row.status,
            plan_version=row.plan_version,
            note=row.note,
            created_at=row.created_at,
            updated_at=row.updated_at,
            model=row,
        )

    @strawberry.field(description="The routing version the order was decomposed into.")
    async def routing(self, info: Info[NodeContext, None]) -> RoutingType:
        row = await RoutingLoader.of(info).load(self.model.routing_id)
        assert row is not None
        return RoutingType.from_model(row)

    @strawberry.field(description="The plan in force; null before planning.")
    async def plan(self, info: Info[NodeContext, None]) -> OrderPlanType | None:
        if self.model.plan_version == 0:
            return None
        row = await CurrentPlanLoader.of(info).load((self.id, self.model.plan_version))
        return OrderPlanType.from_model(row, self.model) if row else None

    @strawberry.field(description="Every plan version, first to last.")
    async def plans(self, info: Info[NodeContext, None]) -> list[OrderPlanType]:
        return [
            OrderPlanType.from_model(row, self.model)
            for row in await PlansLoader.of(info).load(self.id)
        ]

    @strawberry.field
    async def work_orders(self, info: Info[NodeContext, None]) -> list[WorkOrderType]:
        rows = await WorkOrdersLoader.of(info).load(self.id)
        return [WorkOrderType.from_model(row) for row in rows]

    @strawberry.field(description="What happened, oldest first.")
    async def events(self, info: Info[NodeContext, None]) -> list[OrderEventType]:
        rows = await EventsLoader.of(info).load(self.id)
        return [OrderEventType.from_model(row) for row in rows]

    @strawberry.field(description="The twelve progress nodes and when each was reached.")
    async def progress(self, info: Info[NodeContext, None]) -> list[StageProgressType]:
        reached: dict[OrderStage, dt.datetime] = {}
        for event in await EventsLoader.of(info).load(self.id):
            for stage in OrderStage:
                if stage.rank <= event.stage.rank:
                    reached.setdefault(stage, event.at)
        return [
            StageProgressType(stage=stage, reached=stage in reached, at=reached.get(stage))
            for stage in OrderStage
        ]


# An order's relations for every order of a page: one query per relation (same rows, same order
# as the single-order reads in the orders repository).


class RoutingLoader(Loader[uuid.UUID, Routing | None]):
    async def batch_load(self, keys: list[uuid.UUID]) -> list[Routing | None]:
        return await rows_by(self.context.session, Routing, Routing.id, keys)


class CurrentPlanLoader(Loader[tuple[uuid.UUID, int], OrderPlan | None]):
    """The plan in force of each (order, plan version)."""

    async def batch_load(self, keys: list[tuple[uuid.UUID, int]]) -> list[OrderPlan | None]:
        rows = await self.context.session.scalars(
            select(OrderPlan).where(
                OrderPlan.order_id.in_({order for order, _ in keys}),
                OrderPlan.version.in_({version for _, version in keys}),
            )
        )
        return by_key(keys, rows, lambda row: (row.order_id, row.version), lambda row: row)


class PlansLoader(Loader[uuid.UUID, list[OrderPlan]]):
    async def batch_load(self, keys: list[uuid.UUID]) -> list[list[OrderPlan]]:
        rows = await self.context.session.scalars(
            select(OrderPlan).where(OrderPlan.order_id.in_(keys)).order_by(OrderPlan.version)
        )
        return grouped(keys, rows, lambda row: row.order_id, lambda row: row)


class WorkOrdersLoader(Loader[uuid.UUID, list[WorkOrder]]):
    async def batch_load(self, keys: list[uuid.UUID]) -> list[list[WorkOrder]]:
        rows = await self.context.session.scalars(
            select(WorkOrder)
            .where(WorkOrder.order_id.in_(keys))
            .order_by(WorkOrder.step, WorkOrder.start_date, WorkOrder.id)
        )
        return grouped(keys, rows, lambda row: row.order_id, lambda row: row)


class AllocationsLoader(Loader[uuid.UUID, list[PlanAllocation]]):
    """The allocations of every plan on a page (`service.plan_allocations`), in one query."""

    async def batch_load(self, keys: list[uuid.UUID]) -> list[list[PlanAllocation]]:
        rows = await self.context.session.scalars(
            select(PlanAllocation)
            .where(PlanAllocation.plan_id.in_(keys))
            .order_by(PlanAllocation.step, PlanAllocation.day)
        )
        return grouped(keys, rows, lambda row: row.plan_id, lambda row: row)


class EventsLoader(Loader[uuid.UUID, list[ProgressEvent]]):
    async def batch_load(self, keys: list[uuid.UUID]) -> list[list[ProgressEvent]]:
        rows = await self.context.session.scalars(
            select(ProgressEvent)
            .where(ProgressEvent.order_id.in_(keys))
            .order_by(ProgressEvent.at, ProgressEvent.id)
        )
        return grouped(keys, rows, lambda row: row.order_id, lambda row: row)
