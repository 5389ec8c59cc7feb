from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from regional_node.db import Base
from yunfab.db import UTCDateTime, new_id, str_enum, utcnow


class Routing(Base):
    """A product template: the process routing an order for that product is decomposed into.

    Versions are immutable once stored (orders keep pointing at the version they were planned
    on); importing a changed routing adds a version."""

    __tablename__ = "routings"
    __table_args__ = (UniqueConstraint("product", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    product: Mapped[str] = mapped_column(String(63), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(32), default="pcs")
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """Validated steps, see `regional_node.orders.routings.RoutingStep`."""
    digest: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the canonical steps: importing the same routing twice adds nothing."""
    source: Mapped[str] = mapped_column(String(200))
    """Where it came from: a file name, or a market listing once #9 installs them."""
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    """Set when the routing may plan no new orders (its market release was revoked or removed);
    orders already planned on it keep it."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderStage(enum.StrEnum):
    """The twelve progress nodes a buyer sees, in order. An order only moves forward."""

    PLACED = "placed"
    ACCEPTED = "accepted"
    PLANNED = "planned"
    DISPATCHED = "dispatched"
    CONFIRMED = "confirmed"
    MATERIALS_READY = "materials_ready"
    IN_PRODUCTION = "in_production"
    SEMI_FINISHED = "semi_finished"
    FINISHED = "finished"
    INSPECTED = "inspected"
    SHIPPED = "shipped"
    DELIVERED = "delivered"

    @property
    def rank(self) -> int:
        return list(OrderStage).index(self)


class OrderStatus(enum.StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"
    DONE = "done"


class Order(Base):
    """A buyer's order on this node: "what I want, you produce"."""

    __tablename__ = "orders"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    buyer_org: Mapped[str] = mapped_column(String(64), index=True)
    """The buyer's organization at the hub."""
    buyer_reference: Mapped[str | None] = mapped_column(String(100))
    """The buyer's own purchase order number."""
    routing_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("routings.id"))
    product: Mapped[str] = mapped_column(String(63))
    quantity: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    daily_target: Mapped[int] = mapped_column(Integer)
    ramp_days: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[OrderStage] = mapped_column(str_enum(OrderStage), default=OrderStage.PLACED)
    status: Mapped[OrderStatus] = mapped_column(
        str_enum(OrderStatus), default=OrderStatus.OPEN, index=True
    )
    plan_version: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderPlan(Base):
    """One allocation of an order over the node's factories; a re-plan adds a version."""

    __tablename__ = "order_plans"
    __table_args__ = (UniqueConstraint("order_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    objective: Mapped[float] = mapped_column(Float)
    bound: Mapped[float] = mapped_column(Float)
    gap: Mapped[float] = mapped_column(Float)
    solve_time_s: Mapped[float] = mapped_column(Float)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON)
    effect: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """For a re-plan: what changed and what it does to the daily target."""
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlanAllocation(Base):
    """Units of one step given to one factory on one day, in one plan version."""

    __tablename__ = "plan_allocations"

    plan_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("order_plans.id", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[str] = mapped_column(String(63), primary_key=True)
    factory_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("factories.id"), primary_key=True, index=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    units: Mapped[float] = mapped_column(Float)


class WorkOrderStatus(enum.StrEnum):
    ISSUED = "issued"
    CONFIRMED = "confirmed"
    MATERIALS_READY = "materials_ready"
    IN_PRODUCTION = "in_production"
    DONE = "done"
    CANCELLED = "cancelled"


class WorkOrder(Base):
    """What one factory makes of one step of an order: the plan's days for it, and what it
    reported. A re-plan updates the quantities in place (the factory keeps one work order)."""

    __tablename__ = "work_orders"
    __table_args__ = (UniqueConstraint("order_id", "step", "factory_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    factory_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("factories.id"), index=True)
    step: Mapped[str] = mapped_column(String(63))
    process: Mapped[str] = mapped_column(String(63))
    quantity: Mapped[int] = mapped_column(Integer)
    daily: Mapped[dict[str, int]] = mapped_column(JSON)
    """ISO day -> planned units."""
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[WorkOrderStatus] = mapped_column(
        str_enum(WorkOrderStatus), default=WorkOrderStatus.ISSUED
    )
    made: Mapped[int] = mapped_column(Integer, default=0)
    """Good units reported."""
    scrapped: Mapped[int] = mapped_column(Integer, default=0)
    produced: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    """ISO day -> good units reported for that day: what a re-plan keeps as finished work."""
    plan_version: Mapped[int] = mapped_column(Integer)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProgressEvent(Base):
    """Something that happened to an order: a stage reached, a report from a factory, a plan."""

    __tablename__ = "order_events"
    __table_args__ = (UniqueConstraint("work_order_id", "report_key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    work_order_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("work_orders.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    stage: Mapped[OrderStage] = mapped_column(str_enum(OrderStage))
    """The order's stage after the event."""
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report_key: Mapped[str | None] = mapped_column(String(64))
    """A factory's own id for a work report: the same report sent again is applied once."""
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Breakdown(Base):
    """Equipment down at a factory for some days: capacity for a process (or all of them) is
    gone, and the orders with work there are re-planned."""

    __tablename__ = "breakdowns"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    factory_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("factories.id"), index=True)
    process: Mapped[str | None] = mapped_column(String(63))
    """None: the whole factory."""
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("alerts.id"))
    note: Mapped[str | None] = mapped_column(Text)
    reported_by: Mapped[str] = mapped_column(String(200))
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class FactorySchedule(Base):
    """An in-factory schedule (flexible job shop) kept so its Gantt chart can be fetched."""

    __tablename__ = "factory_schedules"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    factory_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("factories.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    problem: Mapped[dict[str, Any]] = mapped_column(JSON)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
