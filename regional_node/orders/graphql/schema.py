from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from regional_node.graphql.context import NodeContext
from regional_node.graphql.lookup import exactly_one
from regional_node.jobs.graphql.types import JobType
from regional_node.orders import jobs as order_jobs
from regional_node.orders import routings, service
from regional_node.orders.errors import RoutingInvalid
from regional_node.orders.graphql.types import (
    OrderEventType,
    OrderPlanType,
    OrderStageEnum,
    OrderStatusEnum,
    OrderType,
    RoutingType,
    WorkOrderStatusEnum,
    WorkOrderType,
)
from regional_node.orders.models import ProgressEvent
from yunfab.graphql.pagination import Connection
from yunfab.graphql.resolvers import mutate, page_request, query, read, service_input
from yunfab.graphql.subscriptions import gated_events


@strawberry.type
class OrderQuery:
    @strawberry.field(description="The latest routing of every product on this node.")
    async def routings(self, info: Info[NodeContext, None]) -> list[RoutingType]:
        context = info.context
        rows = await query(context, service.list_routings, runtime=context.runtime)
        return [RoutingType.from_model(row) for row in rows]

    @strawberry.field(description="A product's routing: the latest version unless one is named.")
    async def routing(
        self, info: Info[NodeContext, None], product: str, version: int | None = None
    ) -> RoutingType:
        context = info.context
        row = await query(
            context, service.get_routing, runtime=context.runtime, product=product,
            version=version,
        )  # fmt: skip
        return RoutingType.from_model(row)

    @strawberry.field(
        description="Orders, newest first: all of them for the node operator, otherwise your "
        "organization's."
    )
    async def orders(
        self,
        info: Info[NodeContext, None],
        status: OrderStatusEnum | None = None,  # type: ignore[valid-type]
        buyer_org: Annotated[
            str | None,
            strawberry.argument(description="The buyer's organization id (node operator only)."),
        ] = None,
        product: str | None = None,
        created_after: Annotated[
            dt.datetime | None, strawberry.argument(description="Placed at or after.")
        ] = None,
        created_before: Annotated[
            dt.datetime | None, strawberry.argument(description="Placed before.")
        ] = None,
        number_prefix: Annotated[
            str | None, strawberry.argument(description="e.g. SO-202603 for March 2026's.")
        ] = None,
        stage: Annotated[
            OrderStageEnum | None,  # type: ignore[valid-type]
            strawberry.argument(description="At this stage now."),
        ] = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[OrderType]:
        context = info.context
        page = await query(
            context,
            service.list_orders,
            runtime=context.runtime,
            where=service.OrderFilter(
                status=status,
                buyer_org=buyer_org,
                product=product,
                created_after=created_after,
                created_before=created_before,
                number_prefix=number_prefix,
                stage=stage,
            ),
            page=page_request(context, first, after, arity=2),
        )
        return Connection[OrderType].from_page(
            page,
            key=lambda order: (order.created_at.isoformat(), str(order.id)),
            node=OrderType.from_model,
            after=after,
        )

    @strawberry.field(
        description="One order, by id or by number (`SO-...`, exactly one); ORDER_NOT_FOUND "
        "for one you may not see."
    )
    async def order(
        self,
        info: Info[NodeContext, None],
        id: uuid.UUID | None = None,
        number: str | None = None,
    ) -> OrderType:
        context = info.context
        exactly_one(id=id, number=number)
        if id is not None:
            row = await query(context, service.get_order, runtime=context.runtime, order_id=id)
        else:
            row = await query(
                context, service.get_order_by_number, runtime=context.runtime, number=str(number)
            )
        return OrderType.from_model(row)

    @strawberry.field(description="A factory's work orders (open ones unless `all`).")
    async def work_orders(
        self, info: Info[NodeContext, None], factory_id: uuid.UUID, all: bool = False
    ) -> list[WorkOrderType]:
        context = info.context
        rows = await query(
            context, service.factory_work_orders, runtime=context.runtime, factory_id=factory_id,
            open_only=not all,
        )  # fmt: skip
        return [WorkOrderType.from_model(row) for row in rows]


@strawberry.input
class PlaceOrderInput:
    product: str
    quantity: int
    due_date: dt.date
    daily_target: int
    start_date: dt.date | None = strawberry.field(default=None, description="Default: today.")
    ramp_days: int = strawberry.field(
        default=0, description="Days before the daily target applies in full (it ramps up)."
    )
    buyer_reference: str | None = None
    note: str | None = None


@strawberry.input
class WorkReportInput:
    kind: WorkOrderStatusEnum = strawberry.field(  # type: ignore[valid-type]
        description="confirmed, materials_ready, in_production (with units) or done."
    )
    day: dt.date | None = strawberry.field(default=None, description="When the units were made.")
    good: int = 0
    scrap: int = 0
    note: str | None = None
    key: str | None = strawberry.field(
        default=None,
        description="Your id for this report (up to 64 characters): sent again, as a retry "
        "after a lost reply, it is applied only once.",
    )


@strawberry.input
class BreakdownInput:
    factory_id: uuid.UUID
    first_day: dt.date
    last_day: dt.date
    process: str | None = strawberry.field(default=None, description="Null: the whole factory.")
    alert_id: uuid.UUID | None = strawberry.field(
        default=None, description="The alert that revealed it, if any."
    )
    note: str | None = None


@strawberry.type(name="BreakdownResult")
class BreakdownResultType:
    breakdown_id: uuid.UUID
    replanned: list[OrderPlanType] = strawberry.field(
        description="A new plan for every open order that had work there."
    )


@strawberry.type
class OrderMutation:
    @strawberry.mutation(
        description="Import a routing (product template) from TOML or JSON text; the same "
        "routing again returns the stored version."
    )
    async def import_routing(
        self, info: Info[NodeContext, None], text: str, format: str = "toml",
        source: str = "graphql",
    ) -> RoutingType:  # fmt: skip
        if format not in ("toml", "json"):
            raise RoutingInvalid("format: toml or json")
        spec = routings.parse(text, fmt=format, source=source)
        context = info.context
        row, _ = await mutate(
            context, service.import_routing, runtime=context.runtime, spec=spec, source=source
        )
        return RoutingType.from_model(row)

    @strawberry.mutation(description="Place an order for a product with a routing on this node.")
    async def place_order(self, info: Info[NodeContext, None], input: PlaceOrderInput) -> OrderType:
        context = info.context
        row = await mutate(
            context,
            service.place_order,
            runtime=context.runtime,
            input=service_input(service.NewOrder, input),
        )
        return OrderType.from_model(row)

    @strawberry.mutation(
        description="Allocate the order over the node's factories (node operator). An order "
        "that cannot be planned fails with code order_infeasible and the constraint."
    )
    async def plan_order(
        self, info: Info[NodeContext, None], id: uuid.UUID, time_limit_s: float = 30.0
    ) -> OrderPlanType:
        context = info.context
        row, order = await mutate(
            context,
            service.plan_order,
            runtime=context.runtime,
            order_id=id,
            time_limit_s=min(max(time_limit_s, 1.0), 120.0),
        )
        return OrderPlanType.from_model(row, order)

    @strawberry.mutation(
        description="Plan the order as a job and return at once with it (node operator): "
        "`job(id:)` tells how it goes and, once it succeeded, the plan (`result.planId`, "
        "`version`); `orderProgress` tells the order's followers, as `planOrder` does. A node "
        "scaled out plans on its workers; `timeLimitS` may be up to 600 here. Asking again "
        "with the same `key` returns the same job. An order that cannot be planned fails the "
        "job with code order_infeasible."
    )
    async def start_order_plan(
        self, info: Info[NodeContext, None], id: uuid.UUID, time_limit_s: float = 30.0,
        key: str | None = None,
    ) -> JobType:  # fmt: skip
        context = info.context
        row = await mutate(
            context, order_jobs.start_planning, runtime=context.runtime, order_id=id,
            replan=False, as_of=None, reason="", time_limit_s=time_limit_s, key=key,
        )  # fmt: skip
        return JobType.from_model(row)

    @strawberry.mutation(
        description="Re-plan the order from `asOf` (default today) as a job, as `replanOrder` "
        "does, and return at once with the job (see `startOrderPlan`)."
    )
    async def start_order_replan(
        self, info: Info[NodeContext, None], id: uuid.UUID, as_of: dt.date | None = None,
        reason: str = "re-planned by the operator", time_limit_s: float = 30.0,
        key: str | None = None,
    ) -> JobType:  # fmt: skip
        context = info.context
        row = await mutate(
            context, order_jobs.start_planning, runtime=context.runtime, order_id=id,
            replan=True, as_of=as_of, reason=reason[:500], time_limit_s=time_limit_s, key=key,
        )  # fmt: skip
        return JobType.from_model(row)

    @strawberry.mutation(description="Send the plan to the factories as work orders.")
    async def dispatch_order(
        self, info: Info[NodeContext, None], id: uuid.UUID
    ) -> list[WorkOrderType]:
        context = info.context
        rows = await mutate(context, service.dispatch_order, runtime=context.runtime, order_id=id)
        return [WorkOrderType.from_model(row) for row in rows]

    @strawberry.mutation(
        description="Re-plan from `asOf` (default today), keeping what was reported as made."
    )
    async def replan_order(
        self, info: Info[NodeContext, None], id: uuid.UUID, as_of: dt.date | None = None,
        reason: str = "re-planned by the operator", time_limit_s: float = 30.0,
    ) -> OrderPlanType:  # fmt: skip
        context = info.context
        row, order = await mutate(
            context,
            service.replan_order,
            runtime=context.runtime,
            order_id=id,
            as_of=as_of,
            reason=reason[:500],
            time_limit_s=min(max(time_limit_s, 1.0), 120.0),
        )
        return OrderPlanType.from_model(row, order)

    @strawberry.mutation(description="A factory reports on its work order.")
    async def report_work(
        self, info: Info[NodeContext, None], work_order_id: uuid.UUID, input: WorkReportInput
    ) -> WorkOrderType:
        context = info.context
        row = await mutate(
            context,
            service.report_progress,
            runtime=context.runtime,
            work_order_id=work_order_id,
            report=service_input(service.Report, input),
        )
        return WorkOrderType.from_model(row)

    @strawberry.mutation(
        description="Inspected and shipped (node operator), delivered (the buyer)."
    )
    async def advance_order(
        self, info: Info[NodeContext, None], id: uuid.UUID,
        stage: OrderStageEnum,  # type: ignore[valid-type]
        note: str | None = None,
    ) -> OrderType:  # fmt: skip
        context = info.context
        row = await mutate(
            context,
            service.advance_order,
            runtime=context.runtime,
            order_id=id,
            stage=stage,
            note=note,
        )
        return OrderType.from_model(row)

    @strawberry.mutation(description="Cancel an order (its buyer or the node operator).")
    async def cancel_order(
        self, info: Info[NodeContext, None], id: uuid.UUID, reason: str
    ) -> OrderType:
        context = info.context
        row = await mutate(
            context, service.cancel_order, runtime=context.runtime, order_id=id, reason=reason
        )
        return OrderType.from_model(row)

    @strawberry.mutation(
        description="Equipment at a factory is down for some days: its capacity goes and every "
        "open order with work there is re-planned from `asOf` (default today)."
    )
    async def report_breakdown(
        self, info: Info[NodeContext, None], input: BreakdownInput, as_of: dt.date | None = None
    ) -> BreakdownResultType:
        context = info.context
        breakdown, plans = await mutate(
            context,
            service.report_breakdown,
            runtime=context.runtime,
            input=service_input(service.NewBreakdown, input),
            as_of=as_of,
        )
        return BreakdownResultType(
            breakdown_id=breakdown.id,
            replanned=[OrderPlanType.from_model(plan, order) for plan, order in plans],
        )


@strawberry.type
class OrderSubscription:
    @strawberry.subscription(
        description="An order's progress as it happens: plans, work reports, stages."
    )
    async def order_progress(
        self, info: Info[NodeContext, None], order_id: uuid.UUID
    ) -> AsyncGenerator[OrderEventType, None]:
        context = info.context

        async def may_read(session: AsyncSession) -> object:
            return await service.get_order(
                session, context.subject, runtime=context.runtime, order_id=order_id
            )

        async for notice in gated_events(
            context,
            context.runtime.order_events.subscribe(),
            wanted=lambda notice: notice.order_id == order_id,
            check=may_read,
        ):
            event = await read(context, AsyncSession.get, ProgressEvent, notice.event_id)
            if event is not None:
                yield OrderEventType.from_model(event)
