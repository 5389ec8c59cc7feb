"""SQL of the node's orders: routings, orders with their plans and progress events, work
orders, the reads planning makes of the node's factories and bookings, factory schedules."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import ColumnElement, Row, Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.factories.models import CapacityDay, Equipment, Factory, FactoryStatus
from regional_node.orders.models import (
    Breakdown,
    FactorySchedule,
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
from yunfab.graphql.pagination import Page, PageRequest, newest_first

PLANNING_LOCK = 7_216_116
"""PostgreSQL advisory lock held while an order is planned: plans read the hours other orders
booked, so two at once could overbook a factory. (SQLite lets one writer in at a time.)"""

CLOSED_WORK = (WorkOrderStatus.DONE, WorkOrderStatus.CANCELLED)
"""A work order in neither has work left."""


class RoutingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, routing_id: uuid.UUID) -> Routing | None:
        return await self.session.get(Routing, routing_id)

    async def latest(self, product: str, *, usable_only: bool = True) -> Routing | None:
        """The product's newest routing; by default the newest that may still plan orders (a
        disabled one, such as a revoked market template, is passed over)."""
        query = select(Routing).where(Routing.product == product)
        if usable_only:
            query = query.where(Routing.disabled_reason.is_(None))
        return await self.session.scalar(query.order_by(Routing.version.desc()).limit(1))

    async def get_version(self, product: str, version: int) -> Routing | None:
        return await self.session.scalar(
            select(Routing).where(Routing.product == product, Routing.version == version)
        )

    async def latest_usable_per_product(self) -> Sequence[Routing]:
        """The newest routing not disabled of every product, by product."""
        latest = (
            select(Routing.product, func.max(Routing.version).label("version"))
            .where(Routing.disabled_reason.is_(None))
            .group_by(Routing.product)
            .subquery()
        )
        query = (
            select(Routing)
            .join(
                latest,
                (Routing.product == latest.c.product) & (Routing.version == latest.c.version),
            )
            .order_by(Routing.product)
        )
        return (await self.session.scalars(query)).all()


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def planning_lock(self) -> None:
        """Takes `PLANNING_LOCK` for the transaction (PostgreSQL; SQLite has one writer)."""
        if (await self.session.connection()).dialect.name == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": PLANNING_LOCK}
            )

    async def get(self, order_id: uuid.UUID, *, lock: bool = False) -> Order | None:
        return await self.session.get(Order, order_id, with_for_update=lock)

    async def get_by_number(self, number: str) -> Order | None:
        return (
            await self.session.scalars(select(Order).where(Order.number == number))
        ).one_or_none()

    async def page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[Order]:
        """Newest first, by (created_at, id)."""
        query = newest_first(
            select(Order).where(*conditions), Order.created_at, Order.id, page.after
        )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(Order).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)

    async def open_orders_locked(
        self, affected: Select[uuid.UUID], planned: Collection[uuid.UUID]
    ) -> Sequence[Order]:
        """The open orders among `affected` and `planned`, oldest first, locked."""
        return (
            await self.session.scalars(
                select(Order)
                .where(
                    Order.id.in_(affected) | Order.id.in_(planned),
                    Order.status == OrderStatus.OPEN,
                )
                .order_by(Order.created_at)
                .with_for_update()
            )
        ).all()

    async def planned_cells_at(
        self, factory_id: uuid.UUID, first_day: dt.date, last_day: dt.date
    ) -> Sequence[Row[uuid.UUID, uuid.UUID, str]]:
        """(order, routing, step) of the open orders planned but not dispatched whose plan in
        force has the factory making units between the two days."""
        return (
            await self.session.execute(
                select(Order.id, Order.routing_id, PlanAllocation.step)
                .join(
                    OrderPlan,
                    (OrderPlan.order_id == Order.id) & (OrderPlan.version == Order.plan_version),
                )
                .join(PlanAllocation, PlanAllocation.plan_id == OrderPlan.id)
                .where(
                    Order.status == OrderStatus.OPEN,
                    Order.stage == OrderStage.PLANNED,
                    PlanAllocation.factory_id == factory_id,
                    PlanAllocation.day >= first_day,
                    PlanAllocation.day <= last_day,
                    PlanAllocation.units > 0,
                )
                .distinct()
            )
        ).all()

    async def plan(self, order: Order) -> OrderPlan | None:
        """The order's plan in force."""
        return await self.session.scalar(
            select(OrderPlan).where(
                OrderPlan.order_id == order.id, OrderPlan.version == order.plan_version
            )
        )

    async def plans(self, order_id: uuid.UUID) -> Sequence[OrderPlan]:
        """Every plan the order had, first to last."""
        return (
            await self.session.scalars(
                select(OrderPlan).where(OrderPlan.order_id == order_id).order_by(OrderPlan.version)
            )
        ).all()

    async def allocations(self, plan: OrderPlan) -> Sequence[PlanAllocation]:
        return (
            await self.session.scalars(
                select(PlanAllocation)
                .where(PlanAllocation.plan_id == plan.id)
                .order_by(PlanAllocation.step, PlanAllocation.day)
            )
        ).all()

    async def events(self, order_id: uuid.UUID) -> Sequence[ProgressEvent]:
        return (
            await self.session.scalars(
                select(ProgressEvent)
                .where(ProgressEvent.order_id == order_id)
                .order_by(ProgressEvent.at, ProgressEvent.id)
            )
        ).all()

    async def report_applied(self, work_order_id: uuid.UUID, key: str) -> bool:
        """Whether a report with this key on the work order has been applied."""
        seen = await self.session.scalar(
            select(ProgressEvent.id).where(
                ProgressEvent.work_order_id == work_order_id, ProgressEvent.report_key == key
            )
        )
        return seen is not None


class WorkOrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, work_order_id: uuid.UUID, *, lock: bool = False, refresh: bool = False
    ) -> WorkOrder | None:
        """`refresh` reads the row again over what the session holds (after taking a lock)."""
        return await self.session.get(
            WorkOrder, work_order_id, with_for_update=lock, populate_existing=refresh
        )

    async def of_order(self, order_id: uuid.UUID) -> list[WorkOrder]:
        return list(
            (
                await self.session.scalars(
                    select(WorkOrder)
                    .where(WorkOrder.order_id == order_id)
                    .order_by(WorkOrder.step, WorkOrder.start_date, WorkOrder.id)
                )
            ).all()
        )

    async def at_factory(self, factory_id: uuid.UUID, *, open_only: bool) -> Sequence[WorkOrder]:
        query = select(WorkOrder).where(WorkOrder.factory_id == factory_id)
        if open_only:
            query = query.where(WorkOrder.status.not_in(CLOSED_WORK))
        return (
            await self.session.scalars(query.order_by(WorkOrder.start_date, WorkOrder.id))
        ).all()

    @staticmethod
    def open_order_ids_at(
        factory_id: uuid.UUID, first_day: dt.date, last_day: dt.date, process: str | None
    ) -> Select[uuid.UUID]:
        """A subquery: the orders with work left at the factory between the two days (of the
        process, when one is given)."""
        affected = select(WorkOrder.order_id).where(
            WorkOrder.factory_id == factory_id,
            WorkOrder.status.not_in(CLOSED_WORK),
            WorkOrder.end_date >= first_day,
            WorkOrder.start_date <= last_day,
        )
        if process is not None:
            affected = affected.where(WorkOrder.process == process)
        return affected


class PlanningRepository:
    """What planning reads: the factories' calendars and equipment, breakdowns, and the hours
    the plans in force of other orders booked."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_factories(self) -> Sequence[Factory]:
        return (
            await self.session.scalars(
                select(Factory).where(Factory.status == FactoryStatus.ACTIVE)
            )
        ).all()

    async def equipment(self) -> Sequence[Equipment]:
        """Every factory's."""
        return (await self.session.scalars(select(Equipment))).all()

    async def capacity(
        self, processes: Collection[str], first: dt.date, last: dt.date
    ) -> Sequence[CapacityDay]:
        return (
            await self.session.scalars(
                select(CapacityDay).where(
                    CapacityDay.process.in_(processes),
                    CapacityDay.day >= first,
                    CapacityDay.day <= last,
                )
            )
        ).all()

    async def breakdowns(self, first: dt.date, last: dt.date) -> Sequence[Breakdown]:
        """The breakdowns with a day in [first, last]."""
        return (
            await self.session.scalars(
                select(Breakdown).where(Breakdown.first_day <= last, Breakdown.last_day >= first)
            )
        ).all()

    async def booked_cells(
        self,
        first: dt.date,
        last: dt.date,
        *,
        stages: Collection[OrderStage],
        excluding: uuid.UUID | None = None,
    ) -> Sequence[Row[uuid.UUID, str, uuid.UUID, dt.date, float]]:
        """(routing, step, factory, day, units) of the plans in force of the open orders (but
        `excluding`) in one of `stages`, between the two days."""
        return (
            await self.session.execute(
                select(
                    Order.routing_id,
                    PlanAllocation.step,
                    PlanAllocation.factory_id,
                    PlanAllocation.day,
                    PlanAllocation.units,
                )
                .join(OrderPlan, PlanAllocation.plan_id == OrderPlan.id)
                .join(
                    Order,
                    (Order.id == OrderPlan.order_id) & (Order.plan_version == OrderPlan.version),
                )
                .where(
                    Order.id != (excluding or uuid.UUID(int=0)),
                    Order.status == OrderStatus.OPEN,
                    Order.stage.in_(stages),
                    PlanAllocation.day >= first,
                    PlanAllocation.day <= last,
                )
            )
        ).all()


class ScheduleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, schedule_id: uuid.UUID) -> FactorySchedule | None:
        return await self.session.get(FactorySchedule, schedule_id)

    async def page(self, factory_id: uuid.UUID, page: PageRequest) -> Page[FactorySchedule]:
        """The factory's schedules, newest first, by (created_at, id)."""
        condition = FactorySchedule.factory_id == factory_id
        query = newest_first(
            select(FactorySchedule).where(condition),
            FactorySchedule.created_at,
            FactorySchedule.id,
            page.after,
        )
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(FactorySchedule).where(condition)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)
