"""From the node's database to the allocation model and back.

A factory's capacity calendar is per process and day, so the model sees one "line" per factory
and process: the steps of a routing that share a process share that line's hours. Eligibility
is `regional_node.factories.eligibility`'s, the rule the factory's own schedule follows too: the
line offers its process, and the capabilities (skills, machines) of the steps it may do.
Breakdowns take the line's hours away for their days, and the plans in force of the node's
other open orders take the hours they booked: orders share the factories' calendars.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.factories import eligibility
from regional_node.factories.models import Equipment
from regional_node.orders.models import Order, OrderStage
from regional_node.orders.repository import PlanningRepository, RoutingRepository
from regional_node.orders.routings import RoutingStep, steps_from_json
from solvers.allocation import model

BOOKING = [
    OrderStage.PLANNED, OrderStage.DISPATCHED, OrderStage.CONFIRMED, OrderStage.MATERIALS_READY,
    OrderStage.IN_PRODUCTION, OrderStage.SEMI_FINISHED,
]  # fmt: skip
"""Stages in which an order's plan holds factory hours: planned, and not yet all made."""


@dataclass(frozen=True)
class Line:
    factory_id: uuid.UUID
    slug: str
    process: str


@dataclass
class PlanningInputs:
    steps: list[model.Step]
    factories: list[model.Factory]
    order: model.Order
    lines: dict[str, Line]
    """Model factory id -> the factory and process it stands for."""
    start: dt.date

    def day(self, index: int) -> dt.date:
        return self.start + dt.timedelta(days=index)

    def index(self, day: dt.date) -> int:
        return (day - self.start).days


def line_id(slug: str, process: str) -> str:
    return f"{slug}/{process}"


def model_order(order: Order) -> model.Order:
    return model.Order(
        quantity=float(order.quantity),
        days=(order.due_date - order.start_date).days + 1,
        daily_target=float(order.daily_target),
        ramp_days=order.ramp_days,
    )


async def load_inputs(
    session: AsyncSession, order: Order, routing: Sequence[RoutingStep]
) -> PlanningInputs:
    start = order.start_date
    spec = model_order(order)
    last = start + dt.timedelta(days=spec.days - 1)
    processes = {s.process for s in routing}
    reads = PlanningRepository(session)
    factories = await reads.active_factories()
    by_id = {f.id: f for f in factories}
    equipment: dict[uuid.UUID, list[Equipment]] = defaultdict(list)
    for kit in await reads.equipment():
        equipment[kit.factory_id].append(kit)
    capacity = await reads.capacity(processes, start, last)
    down = await down_days(session, start, last)
    booked = await booked_hours(session, start, last, excluding=order.id)
    # Hours per unit of a process, for calendars given in units: its fastest step.
    unit_hours = {p: min(s.hours_per_unit for s in routing if s.process == p) for p in processes}
    standard_rate = {
        p: next(s.unit_cost / s.hours_per_unit for s in routing if s.process == p)
        for p in processes
    }
    hours: dict[tuple[uuid.UUID, str], list[float]] = {}
    rates: dict[tuple[uuid.UUID, str], list[float]] = defaultdict(list)
    for row in capacity:
        if row.factory_id not in by_id:
            continue
        key = (row.factory_id, row.process)
        days = hours.setdefault(key, [0.0] * spec.days)
        if row.available_hours is not None:
            available = row.available_hours
        else:
            available = (row.available_units or 0) * unit_hours[row.process]
        index = (row.day - start).days
        if (row.factory_id, row.process, row.day) in down or (
            row.factory_id,
            None,
            row.day,
        ) in down:
            available = 0.0
        booked_here = booked.get((row.factory_id, row.process, row.day), 0.0)
        days[index] = max(0.0, available - row.downtime_hours - booked_here)
        if row.hourly_rate is not None:
            rates[key].append(row.hourly_rate)
    lines: dict[str, Line] = {}
    model_factories: list[model.Factory] = []
    for (factory_id, process), days in sorted(
        hours.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])
    ):
        factory = by_id[factory_id]
        ident = line_id(factory.slug, process)
        lines[ident] = Line(factory_id, factory.slug, process)
        quoted = rates.get((factory_id, process))
        capabilities = eligibility.capabilities(factory.skills, equipment[factory_id], {process})
        model_factories.append(
            model.Factory(
                id=ident,
                equipment=frozenset({process}),
                skills=eligibility.offered(
                    capabilities, (s.needs for s in routing if s.process == process)
                ),
                hours=tuple(days),
                cost_per_hour=sum(quoted) / len(quoted) if quoted else standard_rate[process],
            )
        )
    return PlanningInputs(
        steps=[s.model_step() for s in routing],
        factories=model_factories,
        order=spec,
        lines=lines,
        start=start,
    )


async def down_days(
    session: AsyncSession, first: dt.date, last: dt.date
) -> set[tuple[uuid.UUID, str | None, dt.date]]:
    """(factory, process or None for all, day) of every reported breakdown in the window."""
    rows = await PlanningRepository(session).breakdowns(first, last)
    down: set[tuple[uuid.UUID, str | None, dt.date]] = set()
    for row in rows:
        day = max(row.first_day, first)
        while day <= min(row.last_day, last):
            down.add((row.factory_id, row.process, day))
            day += dt.timedelta(days=1)
    return down


@dataclass
class Booking:
    units: float = 0.0
    hours: float = 0.0


async def booked_hours(
    session: AsyncSession, first: dt.date, last: dt.date, *, excluding: uuid.UUID | None = None
) -> dict[tuple[uuid.UUID, str, dt.date], float]:
    """(factory, process, day) -> hours the plans in force of the node's open orders (but the
    one being planned) give that line: without them, two orders would each be planned on the
    same hours."""
    held = await bookings(session, first, last, excluding=excluding)
    return {key: booking.hours for key, booking in held.items()}


async def bookings(
    session: AsyncSession, first: dt.date, last: dt.date, *, excluding: uuid.UUID | None = None
) -> dict[tuple[uuid.UUID, str, dt.date], Booking]:
    """(factory, process, day) -> units of the process's steps and their hours that the plans
    in force of the node's open orders (but `excluding`) give that line."""
    rows = await PlanningRepository(session).booked_cells(
        first, last, stages=BOOKING, excluding=excluding
    )
    steps: dict[uuid.UUID, dict[str, RoutingStep]] = {}
    booked: dict[tuple[uuid.UUID, str, dt.date], Booking] = defaultdict(Booking)
    for routing_id, step_id, factory_id, day, units in rows:
        if routing_id not in steps:
            routing = await RoutingRepository(session).get(routing_id)
            assert routing is not None  # a foreign key
            steps[routing_id] = {s.id: s for s in steps_from_json(routing.steps)}
        step = steps[routing_id][step_id]
        cell = booked[(factory_id, step.process, day)]
        cell.units += units
        cell.hours += units * step.hours_per_unit
    return dict(booked)


def by_factory_step(
    inputs: PlanningInputs, units: Iterable[tuple[tuple[str, str, int], float]]
) -> dict[tuple[str, uuid.UUID], dict[dt.date, float]]:
    """(step, factory) -> day -> units, from the model's (step, line, day index) keys."""
    out: dict[tuple[str, uuid.UUID], dict[dt.date, float]] = defaultdict(dict)
    for (step, line, index), value in units:
        factory_id = inputs.lines[line].factory_id
        day = inputs.day(index)
        cell = out[(step, factory_id)]
        cell[day] = cell.get(day, 0.0) + value
    return out
