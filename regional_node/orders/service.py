"""Orders on a node: routings imported, orders placed by buyers, planned over the node's
factories, dispatched as work orders, followed through twelve stages, re-planned when a
factory's equipment breaks down."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.alerts.repository import AlertRepository
from regional_node.audit.service import append_entry
from regional_node.factories.service import SLUG, factory_for, factory_resource, get_factory
from regional_node.orders import planning
from regional_node.orders.errors import (
    OrderClosed,
    OrderInfeasible,
    OrderNotFound,
    RoutingDisabled,
    RoutingNotFound,
    StageOutOfOrder,
    WorkOrderNotFound,
)
from regional_node.orders.events import OrderNotice
from regional_node.orders.models import (
    Breakdown,
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
from regional_node.orders.repository import (
    OrderRepository,
    RoutingRepository,
    WorkOrderRepository,
)
from regional_node.orders.routings import RoutingSpec, RoutingStep, steps_from_json
from regional_node.runtime import NodeRuntime
from solvers.allocation import explain as explaining
from solvers.allocation import model
from yunfab.authorization import Denied
from yunfab.db import after_commit, utcnow
from yunfab.errors import Conflict, InvalidInput
from yunfab.graphql.pagination import Page, PageRequest, starts_with
from yunfab.subject import Subject, canonical_org_id

PLAN_TIME_LIMIT_S = 30.0
WEIGHTS = model.Weights()
ORDER_OF_WORK = list(WorkOrderStatus)
MAX_QUANTITY = 10_000_000
"""Units of one order: work orders (through yields) and reports stay far from 32-bit counts."""


def order_resource(order: Order) -> dict[str, Any]:
    """How the policy sees an order: `org` is the buyer, so others' access is audited."""
    return {"order": order.number, "org": order.buyer_org}


# --- routings ---------------------------------------------------------------------------------


async def import_routing(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, spec: RoutingSpec, source: str
) -> tuple[Routing, bool]:
    """Store a routing as the product's next version; the same routing again adds nothing.
    Returns the routing and whether it was new."""
    await runtime.authorizer.check(subject, "node.routing.manage")
    routings = RoutingRepository(session)
    latest = await routings.latest(spec.product)
    if latest is not None and latest.digest == spec.digest:
        return latest, False
    newest = await routings.latest(spec.product, usable_only=False)
    routing = Routing(
        product=spec.product,
        version=(newest.version + 1) if newest else 1,
        name=spec.name,
        unit=spec.unit,
        steps=[s.as_json() for s in spec.steps],
        digest=spec.digest,
        source=source[:200],
    )
    session.add(routing)
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="node.routing.import",
        resource=f"routing:{routing.product}@{routing.version}",
        outcome="ok",
        detail={"steps": len(spec.steps), "source": routing.source},
    )
    return routing, True


async def get_routing(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, product: str,
    version: int | None = None,
) -> Routing:  # fmt: skip
    await runtime.authorizer.check(subject, "node.routing.read")
    routings = RoutingRepository(session)
    if version is None:
        routing = await routings.latest(product)
    else:
        routing = await routings.get_version(product, version)
    if routing is None:
        raise RoutingNotFound(f"no routing for product {product!r} on this node")
    return routing


async def list_routings(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime
) -> Sequence[Routing]:
    """The latest version of every product's routing."""
    await runtime.authorizer.check(subject, "node.routing.read")
    return await RoutingRepository(session).latest_usable_per_product()


# --- orders -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewOrder:
    product: str
    quantity: int
    due_date: dt.date
    daily_target: int
    start_date: dt.date | None = None
    ramp_days: int = 0
    buyer_reference: str | None = None
    note: str | None = None


async def place_order(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, input: NewOrder
) -> Order:
    if subject.org_id is None:
        raise InvalidInput("an order is placed by an organization: sign in as one of its members")
    await runtime.authorizer.check(
        subject, "node.order.place", {"order": None, "org": subject.org_id}
    )
    if not SLUG.match(input.product):
        raise InvalidInput("product: a lowercase slug")
    start = input.start_date or utcnow().date()
    if not 0 < input.quantity <= MAX_QUANTITY:
        raise InvalidInput(f"quantity: positive, at most {MAX_QUANTITY:,}")
    if not 0 < input.daily_target <= MAX_QUANTITY:
        raise InvalidInput(f"dailyTarget: positive, at most {MAX_QUANTITY:,}")
    if input.due_date < start:
        raise InvalidInput(f"dueDate {input.due_date} is before the start {start}")
    if (input.due_date - start).days > 366:
        raise InvalidInput("an order spans at most a year; split longer ones")
    if not 0 <= input.ramp_days <= (input.due_date - start).days:
        raise InvalidInput("rampDays: between 0 and the order's length")
    routing = await RoutingRepository(session).latest(input.product)
    if routing is None:
        raise RoutingNotFound(
            f"no routing for product {input.product!r}: the node operator imports it first"
        )
    order = Order(
        number=f"SO-{start:%Y%m%d}-{uuid.uuid4().hex[:6].upper()}",
        buyer_org=subject.org_id,
        buyer_reference=(input.buyer_reference or "").strip()[:100] or None,
        routing_id=routing.id,
        product=routing.product,
        quantity=input.quantity,
        start_date=start,
        due_date=input.due_date,
        daily_target=input.daily_target,
        ramp_days=input.ramp_days,
        note=(input.note or "").strip()[:2000] or None,
    )
    session.add(order)
    await session.flush()
    await _event(session, runtime, order, subject, "placed", {
        "quantity": order.quantity, "due": order.due_date.isoformat(),
        "routing": f"{routing.product}@{routing.version}",
    })  # fmt: skip
    await append_entry(
        session,
        actor=subject,
        action="node.order.place",
        resource=f"order:{order.number}",
        outcome="ok",
        detail={"product": order.product, "quantity": order.quantity},
    )
    return order


async def get_order(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, order_id: uuid.UUID,
    action: str = "node.order.read", lock: bool = False,
) -> Order:  # fmt: skip
    order = await OrderRepository(session).get(order_id, lock=lock)
    # Who may not read the order is told ORDER_NOT_FOUND, as for an id that is not there.
    await runtime.authorizer.check_found(
        subject, action, None if order is None else order_resource(order),
        read="node.order.read", missing=OrderNotFound(f"no order {order_id} on this node"),
    )  # fmt: skip
    assert order is not None
    return order


async def get_order_by_number(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, number: str
) -> Order:
    """As `get_order`, by the number people see (`SO-20260301-1A2B3C`)."""
    order = await OrderRepository(session).get_by_number(number.strip()[:32])
    await runtime.authorizer.check_found(
        subject, "node.order.read", None if order is None else order_resource(order),
        read="node.order.read", missing=OrderNotFound(f"no order {number!r} on this node"),
    )  # fmt: skip
    assert order is not None
    return order


@dataclass(frozen=True)
class OrderFilter:
    """What an order listing narrows to; every given condition must hold."""

    status: OrderStatus | None = None
    buyer_org: str | None = None
    """The node operator's filter: others see only their own organization's orders."""
    product: str | None = None
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    """Placed in [created_after, created_before)."""
    number_prefix: str | None = None
    stage: OrderStage | None = None
    """The stage it has reached."""

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.status is not None:
            found.append(Order.status == self.status)
        if self.buyer_org is not None:
            found.append(Order.buyer_org == canonical_org_id(self.buyer_org))
        if self.product is not None:
            found.append(Order.product == self.product)
        if self.created_after is not None:
            found.append(Order.created_at >= self.created_after)
        if self.created_before is not None:
            found.append(Order.created_at < self.created_before)
        if self.number_prefix:
            found.append(starts_with(Order.number, self.number_prefix.strip()))
        if self.stage is not None:
            found.append(Order.stage == self.stage)
        return found


async def list_orders(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime,
    where: OrderFilter, page: PageRequest,
) -> Page[Order]:  # fmt: skip
    """Newest first: every order for the node operator, one's own organization's otherwise
    (so the total is exact either way: the policy decides once for the whole view)."""
    conditions = where.conditions()
    if not await runtime.authorizer.allows(subject, "node.order.list"):
        await runtime.authorizer.check(
            subject, "node.order.read", {"order": None, "org": subject.org_id or "-"}
        )
        if where.buyer_org is not None:
            raise Denied("buyerOrg: a filter for the node operator; yours are the orders shown")
        conditions.append(Order.buyer_org == subject.org_id)
    return await OrderRepository(session).page(conditions, page)


async def routing_steps(session: AsyncSession, order: Order) -> tuple[RoutingStep, ...]:
    routing = await RoutingRepository(session).get(order.routing_id)
    assert routing is not None  # a foreign key
    return steps_from_json(routing.steps)


async def plan_order(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, order_id: uuid.UUID,
    time_limit_s: float = PLAN_TIME_LIMIT_S,
) -> tuple[OrderPlan, Order]:  # fmt: skip
    """Allocate the order over the node's active factories. An order that cannot be planned is
    refused with the constraint that makes it so; nothing is written then. Returns the plan
    and its order."""
    # Taken before the order's row lock, as a breakdown report takes it before its orders'.
    await OrderRepository(session).planning_lock()
    order = await get_order(
        session, subject, runtime=runtime, order_id=order_id, action="node.order.plan", lock=True
    )
    check_open(order)
    if order.stage.rank >= OrderStage.DISPATCHED.rank:
        raise Conflict("the order is dispatched: a change goes through a re-plan")
    routing = await RoutingRepository(session).get(order.routing_id)
    if routing is not None and routing.disabled_reason is not None:
        raise RoutingDisabled(
            f"routing {routing.product}@{routing.version} is disabled ({routing.disabled_reason}):"
            " cancel the order and place it again"
        )
    steps = await routing_steps(session, order)
    inputs = await planning.load_inputs(session, order, steps)
    try:
        result = await asyncio.to_thread(
            model.plan, inputs.steps, inputs.factories, inputs.order, WEIGHTS,
            time_limit_s=time_limit_s,
        )  # fmt: skip
    except model.AllocationError as exc:
        raise OrderInfeasible(exc.detail, constraint=exc.code, **exc.extra) from exc
    why = explaining.explain(inputs.steps, inputs.factories, inputs.order, WEIGHTS, result)
    row = await _store_plan(
        session, order, inputs, result, subject,
        reason="first plan" if order.plan_version == 0 else "planned again before dispatch",
        explanation=_named(why.as_json(), inputs), effect=None,
    )  # fmt: skip
    for stage in (OrderStage.ACCEPTED, OrderStage.PLANNED):
        if order.stage.rank < stage.rank:
            order.stage = stage
    await _event(session, runtime, order, subject, "planned", {
        "version": row.version, "status": row.status, "gap": row.gap,
        "missing": result.missing, "weak_points": result.weak_points,
    })  # fmt: skip
    return row, order


def _named(data: dict[str, Any], inputs: planning.PlanningInputs) -> dict[str, Any]:
    """The explanation with the model's line ids also given as factory slugs."""
    data = dict(data)
    data["lines"] = {
        ident: {"factory": line.slug, "factory_id": str(line.factory_id), "process": line.process}
        for ident, line in inputs.lines.items()
    }
    data["start"] = inputs.start.isoformat()
    return data


async def _store_plan(
    session: AsyncSession, order: Order, inputs: planning.PlanningInputs, result: model.Plan,
    subject: Subject, *, reason: str, explanation: dict[str, Any], effect: dict[str, Any] | None,
) -> OrderPlan:  # fmt: skip
    order.plan_version += 1
    row = OrderPlan(
        order_id=order.id,
        version=order.plan_version,
        reason=reason,
        status=result.status,
        objective=result.objective,
        bound=result.lp_bound,
        gap=0.0 if math.isnan(result.gap) else max(0.0, result.gap),
        solve_time_s=result.solve_time_s,
        explanation=explanation,
        effect=effect,
        created_by=subject.label,
    )
    session.add(row)
    await session.flush()
    cells = planning.by_factory_step(inputs, result.units.items())
    session.add_all(
        PlanAllocation(plan_id=row.id, step=step, factory_id=factory_id, day=day, units=units)
        for (step, factory_id), days in cells.items()
        for day, units in days.items()
    )
    order.updated_at = utcnow()
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="node.order.plan",
        resource=f"order:{order.number}",
        outcome="ok",
        detail={"version": row.version, "reason": reason, "status": row.status},
    )
    return row


async def current_plan(session: AsyncSession, order: Order) -> OrderPlan | None:
    if order.plan_version == 0:
        return None
    return await OrderRepository(session).plan(order)


async def plan_allocations(session: AsyncSession, plan: OrderPlan) -> Sequence[PlanAllocation]:
    return await OrderRepository(session).allocations(plan)


async def dispatch_order(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, order_id: uuid.UUID
) -> list[WorkOrder]:
    """Send the current plan to the factories as work orders."""
    order = await get_order(
        session, subject, runtime=runtime, order_id=order_id, action="node.order.plan", lock=True
    )
    check_open(order)
    if order.stage is not OrderStage.PLANNED:
        raise StageOutOfOrder(
            f"the order is {order.stage.value}: only a planned order is dispatched"
        )
    changes = await _sync_work_orders(session, order)
    order.stage = OrderStage.DISPATCHED
    await _event(session, runtime, order, subject, "dispatched", {"work_orders": len(changes)})
    return await work_orders_of(session, order.id)


async def _sync_work_orders(session: AsyncSession, order: Order) -> list[dict[str, Any]]:
    """Make the order's work orders match its current plan: quantities updated in place, new
    ones issued, ones with no work left cancelled (or closed at what was made). Returns the
    changes, per factory and step."""
    plan = await current_plan(session, order)
    assert plan is not None
    steps = {s.id: s for s in await routing_steps(session, order)}
    exact: dict[tuple[str, uuid.UUID], dict[str, float]] = {}
    for cell in await plan_allocations(session, plan):
        days = exact.setdefault((cell.step, cell.factory_id), {})
        days[cell.day.isoformat()] = days.get(cell.day.isoformat(), 0.0) + cell.units
    # Whole units: the running total is rounded up, so every factory's total covers its share
    # (and the step's total the order) without a day's rounding adding up.
    planned: dict[tuple[str, uuid.UUID], dict[str, int]] = {}
    for key, days in exact.items():
        running, given = 0.0, 0
        for day, units in sorted(days.items()):
            running += units
            whole = math.ceil(running - 1e-6)
            planned.setdefault(key, {})[day] = whole - given
            given = whole
    existing = {(w.step, w.factory_id): w for w in await work_orders_of(session, order.id)}
    changes: list[dict[str, Any]] = []
    for key in sorted(set(planned) | set(existing), key=lambda k: (k[0], str(k[1]))):
        step, factory_id = key
        daily = {d: n for d, n in sorted(planned.get(key, {}).items()) if n > 0}
        work = existing.get(key)
        if work is not None:
            # Days already reported stay as made; the plan speaks for the rest.
            for day, units in work.produced.items():
                daily.setdefault(day, units)
        if not daily:
            if work is not None and work.status is not WorkOrderStatus.CANCELLED:
                changes.append(
                    {"step": step, "factory_id": str(factory_id), "from": work.quantity, "to": 0}
                )
                work.status, work.quantity, work.daily = WorkOrderStatus.CANCELLED, 0, {}
            continue
        before = 0 if work is None else work.quantity
        if work is None:
            work = WorkOrder(
                order_id=order.id, factory_id=factory_id, step=step,
                process=steps[step].process, made=0, scrapped=0, produced={},
                status=WorkOrderStatus.ISSUED,
            )  # fmt: skip
            session.add(work)
        quantity = sum(daily.values())
        if work.status is WorkOrderStatus.CANCELLED:
            work.status = WorkOrderStatus.ISSUED
        work.daily = dict(sorted(daily.items()))
        work.quantity = max(quantity, work.made)
        work.start_date = dt.date.fromisoformat(min(daily))
        work.end_date = dt.date.fromisoformat(max(daily))
        work.plan_version = plan.version
        work.updated_at = utcnow()
        if work.made >= work.quantity and work.status is not WorkOrderStatus.DONE:
            work.status, work.completed_at = WorkOrderStatus.DONE, utcnow()
        elif work.made < work.quantity and work.status is WorkOrderStatus.DONE:
            work.status, work.completed_at = WorkOrderStatus.IN_PRODUCTION, None
        if before != work.quantity:
            changes.append(
                {"step": step, "factory_id": str(factory_id), "from": before, "to": work.quantity}
            )
    await session.flush()
    return changes


async def work_orders_of(session: AsyncSession, order_id: uuid.UUID) -> list[WorkOrder]:
    return await WorkOrderRepository(session).of_order(order_id)


async def factory_work_orders(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID,
    open_only: bool = True,
) -> Sequence[WorkOrder]:  # fmt: skip
    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.workorder.read"
    )
    return await WorkOrderRepository(session).at_factory(factory.id, open_only=open_only)


# --- progress ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    kind: WorkOrderStatus
    """CONFIRMED, MATERIALS_READY, IN_PRODUCTION (with `good` units made on `day`) or DONE."""
    day: dt.date | None = None
    good: int = 0
    scrap: int = 0
    note: str | None = None
    key: str | None = None
    """The reporter's id for this report: sent again (a retry), it is applied only once."""


async def report_progress(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, work_order_id: uuid.UUID,
    report: Report,
) -> WorkOrder:  # fmt: skip
    """A factory reports on its work order; the order's stage follows."""
    works = WorkOrderRepository(session)
    work = await works.get(work_order_id)
    factory = None if work is None else await get_factory(session, work.factory_id)
    await runtime.authorizer.check_found(
        subject, "node.workorder.report", None if factory is None else factory_resource(factory),
        read="node.workorder.read",
        missing=WorkOrderNotFound(f"no work order {work_order_id} on this node"),
    )  # fmt: skip
    assert work is not None
    assert factory is not None
    # The order's row first, then the work order's: plans, re-plans and cancels take them in
    # that order, so a report and a re-plan wait on each other instead of deadlocking.
    orders = OrderRepository(session)
    order = await orders.get(work.order_id, lock=True)
    assert order is not None
    work = await works.get(work_order_id, lock=True, refresh=True)
    assert work is not None
    if report.key is not None:
        if not 1 <= len(report.key) <= 64:
            raise InvalidInput("key: 1 to 64 characters")
        if await orders.report_applied(work.id, report.key):
            return work  # a retry of a report already applied
    check_open(order)
    if work.status is WorkOrderStatus.CANCELLED:
        raise Conflict("the work order was cancelled by a re-plan")
    if report.kind is WorkOrderStatus.CANCELLED or report.kind is WorkOrderStatus.ISSUED:
        raise InvalidInput("report confirmed, materials_ready, in_production or done")
    if report.good < 0 or report.scrap < 0:
        raise InvalidInput("good and scrap units are not negative")
    detail: dict[str, Any] = {"step": work.step, "factory": factory.slug, "kind": report.kind.value}
    if report.good or report.scrap:
        if report.day is None:
            raise InvalidInput("a production report names the day the units were made")
        if not order.start_date <= report.day <= order.due_date:
            raise InvalidInput(
                f"day {report.day} is outside the order ({order.start_date} to {order.due_date})"
            )
        if report.day > utcnow().date() + dt.timedelta(days=1):
            raise InvalidInput(f"day {report.day} is in the future")
        ceiling = 10 * max(work.quantity, 1)
        if work.made + report.good > ceiling or work.scrapped + report.scrap > ceiling:
            raise InvalidInput("far more units than the work order asks for: check the report")
        key = report.day.isoformat()
        work.produced = {**work.produced, key: work.produced.get(key, 0) + report.good}
        work.made += report.good
        work.scrapped += report.scrap
        detail.update(day=key, good=report.good, scrap=report.scrap, made=work.made)
    rank = ORDER_OF_WORK.index
    target = report.kind
    if work.made >= work.quantity > 0 and report.good:
        target = WorkOrderStatus.DONE
    elif work.made > 0 and rank(target) < rank(WorkOrderStatus.IN_PRODUCTION):
        target = WorkOrderStatus.IN_PRODUCTION
    if (
        target is WorkOrderStatus.DONE
        and work.made < work.quantity
        and report.kind is WorkOrderStatus.DONE
    ):
        detail["closed_short"] = work.quantity - work.made
    if rank(target) > rank(work.status):
        work.status = target
        if target is WorkOrderStatus.DONE:
            work.completed_at = utcnow()
    work.updated_at = utcnow()
    if report.note:
        detail["note"] = report.note.strip()[:500]
    await session.flush()
    await _event(session, runtime, order, subject, "work_order", detail, work=work, key=report.key)
    await _advance_from_work(session, runtime, order, subject)
    return work


async def _advance_from_work(
    session: AsyncSession, runtime: NodeRuntime, order: Order, subject: Subject
) -> None:
    works = [
        w
        for w in await work_orders_of(session, order.id)
        if w.status is not WorkOrderStatus.CANCELLED
    ]
    if not works or order.stage.rank < OrderStage.DISPATCHED.rank:
        return
    steps = await routing_steps(session, order)
    finals = {s.id for s in steps if not any(s.id in t.after for t in steps)}
    rank = ORDER_OF_WORK.index

    def everyone(status: WorkOrderStatus) -> bool:
        return all(rank(w.status) >= rank(status) for w in works)

    reached: OrderStage | None = None
    if everyone(WorkOrderStatus.CONFIRMED):
        reached = OrderStage.CONFIRMED
    if everyone(WorkOrderStatus.MATERIALS_READY):
        reached = OrderStage.MATERIALS_READY
    if any(w.made > 0 for w in works):
        reached = OrderStage.IN_PRODUCTION
    upstream = [w for w in works if w.step not in finals]
    if upstream and all(w.status is WorkOrderStatus.DONE for w in upstream):
        reached = OrderStage.SEMI_FINISHED
    final_made = min(sum(w.made for w in works if w.step == step) for step in finals)
    if final_made >= order.quantity:
        reached = OrderStage.FINISHED
    if reached is not None and reached.rank > order.stage.rank:
        order.stage = reached
        order.updated_at = utcnow()
        await _event(session, runtime, order, subject, "stage", {"made": final_made})


async def advance_order(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, order_id: uuid.UUID,
    stage: OrderStage, note: str | None = None,
) -> Order:  # fmt: skip
    """The last three stages: inspected and shipped (the node operator's quality and logistics
    people), delivered (the buyer confirms receipt)."""
    if stage not in (OrderStage.INSPECTED, OrderStage.SHIPPED, OrderStage.DELIVERED):
        raise InvalidInput("only inspected, shipped and delivered are set by hand")
    action = "node.order.receive" if stage is OrderStage.DELIVERED else "node.order.advance"
    order = await get_order(
        session, subject, runtime=runtime, order_id=order_id, action=action, lock=True
    )
    check_open(order)
    if stage.rank != order.stage.rank + 1:
        raise StageOutOfOrder(
            f"the order is {order.stage.value}: {stage.value} must follow "
            f"{list(OrderStage)[stage.rank - 1].value}"
        )
    order.stage = stage
    if stage is OrderStage.DELIVERED:
        order.status = OrderStatus.DONE
    order.updated_at = utcnow()
    await _event(
        session, runtime, order, subject, "stage", {"note": (note or "").strip()[:500] or None}
    )
    await append_entry(
        session, actor=subject, action=f"node.order.{stage.value}",
        resource=f"order:{order.number}", outcome="ok", detail={},
    )  # fmt: skip
    return order


async def cancel_order(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, order_id: uuid.UUID,
    reason: str,
) -> Order:  # fmt: skip
    order = await get_order(
        session, subject, runtime=runtime, order_id=order_id, action="node.order.cancel", lock=True
    )
    check_open(order)
    if order.stage.rank >= OrderStage.FINISHED.rank:
        raise StageOutOfOrder("a finished order is not cancelled")
    if not reason.strip():
        raise InvalidInput("reason: say why")
    order.status = OrderStatus.CANCELLED
    for work in await work_orders_of(session, order.id):
        if work.status is not WorkOrderStatus.DONE:
            work.status = WorkOrderStatus.CANCELLED
    order.updated_at = utcnow()
    await _event(session, runtime, order, subject, "cancelled", {"reason": reason.strip()[:500]})
    await append_entry(
        session, actor=subject, action="node.order.cancel",
        resource=f"order:{order.number}", outcome="ok", detail={"reason": reason.strip()[:500]},
    )  # fmt: skip
    return order


def check_open(order: Order) -> None:
    if order.status is not OrderStatus.OPEN:
        raise OrderClosed(f"order {order.number} is {order.status.value}")


async def _event(
    session: AsyncSession, runtime: NodeRuntime, order: Order, subject: Subject, kind: str,
    detail: dict[str, Any], *, work: WorkOrder | None = None, key: str | None = None,
) -> ProgressEvent:  # fmt: skip
    event = ProgressEvent(
        order_id=order.id,
        work_order_id=work.id if work is not None else None,
        kind=kind,
        stage=order.stage,
        detail=detail,
        report_key=key,
        actor=subject.label,
    )
    session.add(event)
    await session.flush()
    notice = OrderNotice(order.id, event.id)
    after_commit(session, lambda: runtime.order_events.publish(notice))
    return event


async def order_events(session: AsyncSession, order_id: uuid.UUID) -> Sequence[ProgressEvent]:
    return await OrderRepository(session).events(order_id)


# --- disruption -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewBreakdown:
    factory_id: uuid.UUID
    first_day: dt.date
    last_day: dt.date
    process: str | None = None
    alert_id: uuid.UUID | None = None
    note: str | None = None


async def report_breakdown(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, input: NewBreakdown,
    as_of: dt.date | None = None, time_limit_s: float = PLAN_TIME_LIMIT_S,
) -> tuple[Breakdown, list[tuple[OrderPlan, Order]]]:  # fmt: skip
    """Equipment at a factory is down for some days (from an alert or the operator): its
    capacity goes, and every open order with work there on those days (work orders, or a plan
    not yet dispatched) is re-planned from `as_of` (default today). The new plans (with their
    orders) come back for the orders the caller may read: a factory's people see their own
    work orders change, not other factories' shares of the orders."""
    factory = await factory_for(
        session,
        subject,
        runtime=runtime,
        factory_id=input.factory_id,
        action="node.breakdown.report",
    )
    if input.last_day < input.first_day:
        raise InvalidInput("lastDay is before firstDay")
    if (input.last_day - input.first_day).days > 366:
        raise InvalidInput("a breakdown lasts at most a year")
    if input.process is not None and not SLUG.match(input.process):
        raise InvalidInput("process: a lowercase slug")
    # Before anything is written (the audit chain's lock comes after this one everywhere).
    await OrderRepository(session).planning_lock()
    if input.alert_id is not None:
        alert = await AlertRepository(session).alert(input.alert_id)
        if alert is None or alert.factory_id != factory.id:
            raise InvalidInput(f"alert {input.alert_id} is not an alert of {factory.slug}")
    # From today, not from the breakdown's first day: the days in between are yet to be made,
    # and a re-plan holds days before its `today` at what was reported.
    today = replan_day(as_of)
    affected = WorkOrderRepository.open_order_ids_at(
        factory.id, input.first_day, input.last_day, input.process
    )
    planned = await _planned_with_work_at(session, factory.id, input)
    orders = await OrderRepository(session).open_orders_locked(affected, planned)
    # Decided before anything is written: a decision on others' orders is audited in a
    # transaction of its own, which SQLite would find locked by this one.
    readable = {
        order.id
        for order in await runtime.authorizer.filter(
            subject, "node.order.read", list(orders), order_resource
        )
    }
    breakdown = Breakdown(
        factory_id=factory.id,
        process=input.process,
        first_day=input.first_day,
        last_day=input.last_day,
        alert_id=input.alert_id,
        note=(input.note or "").strip()[:2000] or None,
        reported_by=subject.label,
    )
    session.add(breakdown)
    await session.flush()
    await append_entry(
        session, actor=subject, action="node.breakdown.report",
        resource=f"factory:{factory.slug}", outcome="ok",
        detail={
            "process": input.process, "from": input.first_day.isoformat(),
            "to": input.last_day.isoformat(),
            "alert": str(input.alert_id) if input.alert_id else None,
        },
    )  # fmt: skip
    reason = (
        f"breakdown at {factory.slug}"
        + (f" ({input.process})" if input.process else "")
        + f" {input.first_day} to {input.last_day}"
    )
    plans = [
        await _replan(session, runtime, order, subject, today=today, reason=reason,
                      time_limit_s=time_limit_s)
        for order in orders
    ]  # fmt: skip
    return breakdown, [
        (plan, order) for plan, order in zip(plans, orders, strict=True) if order.id in readable
    ]


async def _planned_with_work_at(
    session: AsyncSession, factory_id: uuid.UUID, breakdown: NewBreakdown
) -> list[uuid.UUID]:
    """Orders planned but not dispatched whose plan has the factory (for the process, when
    the breakdown names one) working on a day it is down: dispatched as they are, they would
    send it work it cannot do."""
    rows = await OrderRepository(session).planned_cells_at(
        factory_id, breakdown.first_day, breakdown.last_day
    )
    if breakdown.process is None:
        return sorted({order_id for order_id, _, _ in rows})
    processes: dict[uuid.UUID, dict[str, str]] = {}
    for routing_id in {routing_id for _, routing_id, _ in rows}:
        routing = await RoutingRepository(session).get(routing_id)
        assert routing is not None  # a foreign key
        processes[routing_id] = {s.id: s.process for s in steps_from_json(routing.steps)}
    return sorted(
        {
            order_id
            for order_id, routing_id, step in rows
            if processes[routing_id].get(step) == breakdown.process
        }
    )


async def replan_order(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, order_id: uuid.UUID,
    as_of: dt.date | None = None, reason: str = "re-planned by the operator",
    time_limit_s: float = PLAN_TIME_LIMIT_S,
) -> tuple[OrderPlan, Order]:  # fmt: skip
    await OrderRepository(session).planning_lock()
    order = await get_order(
        session, subject, runtime=runtime, order_id=order_id, action="node.order.plan", lock=True
    )
    check_open(order)
    if order.plan_version == 0:
        raise StageOutOfOrder("the order has no plan yet: plan it first")
    plan = await _replan(
        session, runtime, order, subject, today=replan_day(as_of), reason=reason,
        time_limit_s=time_limit_s,
    )  # fmt: skip
    return plan, order


def replan_day(as_of: dt.date | None) -> dt.date:
    """A re-plan's today. Not a day ahead (a report may be for tomorrow, a time zone away): it
    would hold the days until then at what was reported of them, nothing."""
    today = utcnow().date()
    if as_of is not None and as_of > today + dt.timedelta(days=1):
        raise InvalidInput(f"asOf {as_of} is in the future: a re-plan keeps days before it as made")
    return as_of or today


async def _replan(
    session: AsyncSession, runtime: NodeRuntime, order: Order, subject: Subject, *,
    today: dt.date, reason: str, time_limit_s: float,
) -> OrderPlan:  # fmt: skip
    """From `today` on, keeping what factories reported as made before it and changing the
    rest of the plan as little as the disruption allows."""
    steps = await routing_steps(session, order)
    inputs = await planning.load_inputs(session, order, steps)
    previous_row = await current_plan(session, order)
    assert previous_row is not None
    today_index = min(max(inputs.index(today), 0), inputs.order.days - 1)
    line_of = {(line.factory_id, line.process): ident for ident, line in inputs.lines.items()}
    process_of = {s.id: s.process for s in steps}
    previous_units: dict[tuple[str, str, int], float] = {}
    for cell in await plan_allocations(session, previous_row):
        ident = line_of.get((cell.factory_id, process_of[cell.step]))
        if ident is not None:
            previous_units[(cell.step, ident, inputs.index(cell.day))] = cell.units
    reported: dict[tuple[str, str, int], float] = {}
    for work in await work_orders_of(session, order.id):
        ident = line_of.get((work.factory_id, work.process))
        for day, units in work.produced.items():
            index = inputs.index(dt.date.fromisoformat(day))
            if ident is not None and 0 <= index < today_index and units > 0:
                reported[(work.step, ident, index)] = float(units)
    done, ahead = _within_supply(steps, reported, today_index)
    previous = model.Plan(
        status=previous_row.status, objective=previous_row.objective,
        lp_bound=previous_row.bound, gap=previous_row.gap,
        solve_time_s=previous_row.solve_time_s, units=previous_units,
    )  # fmt: skip
    try:
        outcome = await asyncio.to_thread(
            model.replan, inputs.steps, inputs.factories, inputs.order, WEIGHTS, previous,
            today=today_index, done=done, time_limit_s=time_limit_s,
        )  # fmt: skip
    except model.AllocationError as exc:
        raise OrderInfeasible(exc.detail, constraint=exc.code, **exc.extra) from exc
    why = explaining.explain(inputs.steps, inputs.factories, inputs.order, WEIGHTS, outcome.plan)
    effect = _named(outcome.as_json(), inputs)
    effect["as_of"] = today.isoformat()
    if ahead:
        effect["reports_ahead"] = [
            {
                "step": key[0],
                "factory": inputs.lines[key[1]].slug,
                "day": inputs.day(key[2]).isoformat(),
                "reported": reported[key],
                "kept": done.get(key, 0.0),
            }
            for key in sorted(ahead)
        ]
    row = await _store_plan(
        session, order, inputs, outcome.plan, subject, reason=reason,
        explanation=_named(why.as_json(), inputs), effect=effect,
    )  # fmt: skip
    changes: list[dict[str, Any]] = []
    if order.stage.rank >= OrderStage.DISPATCHED.rank:
        changes = await _sync_work_orders(session, order)
    await _event(session, runtime, order, subject, "replanned", {
        "version": row.version, "reason": reason, "work_order_changes": changes,
        "effect": {
            k: effect[k] for k in ("missed_days", "units_moved", "reports_ahead") if k in effect
        },
    })  # fmt: skip
    return row


def _within_supply(
    steps: Sequence[RoutingStep], reported: dict[tuple[str, str, int], float], days: int
) -> tuple[dict[tuple[str, str, int], float], dict[tuple[str, str, int], float]]:
    """What was reported as made on the first `days` days, cut where a step ran ahead of what
    the steps before it had made by then (after its lag). Factories report when they get to
    it, so a dyer's day may come in before the weaver's; the model refuses such progress, and a
    re-plan (a breakdown's above all) must not fail on it. The cut units stay reported on the
    work orders; the re-plan just does not count on them. Returns what is kept and what was
    cut, per (step, line, day)."""
    ordered: list[RoutingStep] = []
    placed: set[str] = set()
    while len(ordered) < len(steps):
        ready = [s for s in steps if s.id not in placed and set(s.after) <= placed]
        assert ready, "routings are checked for cycles on import"
        ordered += ready
        placed |= {s.id for s in ready}
    kept: dict[tuple[str, str, int], float] = {}
    cut: dict[tuple[str, str, int], float] = {}
    made: dict[str, list[float]] = {}
    for step in ordered:
        cells = sorted(key for key in reported if key[0] == step.id)
        total, made[step.id] = 0.0, []
        for day in range(days):
            limit = min(
                (made[before][day - step.lag_days] if day >= step.lag_days else 0.0
                 for before in step.after),
                default=math.inf,
            )  # fmt: skip
            for key in (key for key in cells if key[2] == day):
                take = max(0.0, min(reported[key], limit - total))
                if take > 0:
                    kept[key] = take
                if reported[key] - take > 1e-9:
                    cut[key] = reported[key] - take
                total += take
            made[step.id].append(total)
    return kept, cut


async def plan_history(session: AsyncSession, order_id: uuid.UUID) -> Sequence[OrderPlan]:
    return await OrderRepository(session).plans(order_id)
