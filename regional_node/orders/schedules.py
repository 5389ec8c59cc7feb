"""In-factory schedules (flexible job shop, `solvers.scheduling.shop`) kept per factory:
solved, rush jobs inserted into them, compared side by side, drawn as Gantt charts."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import uuid
from collections.abc import Sequence
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.audit.service import append_entry
from regional_node.factories import eligibility
from regional_node.factories.models import Factory
from regional_node.factories.repository import FactoryRepository
from regional_node.factories.service import (
    check_at_factory,
    factory_for,
    get_factory,
    known_time_zone,
)
from regional_node.orders import service as orders
from regional_node.orders.errors import ScheduleInvalid, ScheduleNotFound
from regional_node.orders.models import FactorySchedule
from regional_node.orders.repository import OrderRepository, ScheduleRepository
from regional_node.orders.routings import RoutingStep
from regional_node.runtime import NodeRuntime
from solvers.scheduling import shop
from solvers.scheduling.gantt import Clock, gantt_json, render
from yunfab.db import utcnow
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject

DEFAULT_TIME_ZONE = "Asia/Shanghai"
DEFAULT_ZONE = ZoneInfo(DEFAULT_TIME_ZONE)

MAX_OPERATIONS = 2000
MAX_MACHINES = 500
MAX_OPTIONS = 20_000
"""(operation, machine) pairs: CP-SAT gets an interval for each."""
MAX_WINDOWS = 20_000
"""Shift and downtime windows over all machines, and setup pairs."""


def problem_json(problem: shop.Problem) -> dict[str, Any]:
    return {
        "machines": [
            {"id": m.id, "name": m.name, "shifts": [list(w) for w in m.shifts],
             "downtime": [list(w) for w in m.downtime]}
            for m in problem.machines
        ],
        "jobs": [
            {"id": j.id, "release": j.release, "due": j.due, "weight": j.weight,
             "family": j.family,
             "operations": [dict(op.options) for op in j.operations]}
            for j in problem.jobs
        ],
        "setups": [
            {"before": before, "after": after, "minutes": minutes}
            for (before, after), minutes in problem.setups.items()
        ],
        "horizon": problem.horizon,
    }  # fmt: skip


def problem_from_json(data: dict[str, Any]) -> shop.Problem:
    return shop.Problem(
        machines=tuple(
            shop.Machine(
                id=m["id"], name=m.get("name", ""),
                shifts=tuple((int(a), int(b)) for a, b in m.get("shifts", ())),
                downtime=tuple((int(a), int(b)) for a, b in m.get("downtime", ())),
            )
            for m in data["machines"]
        ),
        jobs=tuple(job_from_json(j) for j in data["jobs"]),
        setups={(s["before"], s["after"]): int(s["minutes"]) for s in data.get("setups", ())},
        horizon=data.get("horizon"),
    )  # fmt: skip


def job_from_json(data: dict[str, Any]) -> shop.Job:
    return shop.Job(
        id=data["id"],
        operations=tuple(
            shop.Operation(options={str(k): int(v) for k, v in op.items()})
            for op in data["operations"]
        ),
        release=int(data.get("release", 0)),
        due=None if data.get("due") is None else int(data["due"]),
        weight=float(data.get("weight", 1.0)),
        family=data.get("family", ""),
    )


def plan_from_json(data: dict[str, Any]) -> shop.ShopPlan:
    tasks = [
        shop.Task(
            job=t["job"], operation=t["operation"], machine=t["machine"], start=t["start"],
            end=t["end"], setup=t.get("setup", 0),
        )
        for t in data["tasks"]
    ]  # fmt: skip
    by_key = {t.key: t for t in tasks}
    return shop.ShopPlan(
        status=data["status"],
        objective=data["objective"],
        bound=data["bound"],
        makespan=data["makespan"],
        weighted_lateness=data["weighted_lateness"],
        lateness=dict(data["lateness"]),
        tasks=tasks,
        solve_time_s=data["solve_time_s"],
        changed=[(c["job"], c["operation"]) for c in data.get("changed", ())],
        pinned=[by_key[(p["job"], p["operation"])] for p in data.get("pinned", ())],
        frozen_before=data.get("frozen_before"),
    )


def check_size(problem: shop.Problem) -> None:
    """The problem's size, before the solver sees it: input comes as variables, which the
    GraphQL token limit does not count."""
    operations = sum(len(j.operations) for j in problem.jobs)
    if operations > MAX_OPERATIONS:
        raise ScheduleInvalid(f"at most {MAX_OPERATIONS} operations in one schedule")
    if len(problem.machines) > MAX_MACHINES:
        raise ScheduleInvalid(f"at most {MAX_MACHINES} machines in one schedule")
    if sum(len(op.options) for j in problem.jobs for op in j.operations) > MAX_OPTIONS:
        raise ScheduleInvalid(f"at most {MAX_OPTIONS} machine options over all operations")
    windows = sum(len(m.shifts) + len(m.downtime) for m in problem.machines)
    if windows > MAX_WINDOWS or len(problem.setups) > MAX_WINDOWS:
        raise ScheduleInvalid(f"at most {MAX_WINDOWS} shift and downtime windows, and setups")


def check_name(name: str) -> str:
    if not 1 <= len(name.strip()) <= 200:
        raise ScheduleInvalid("name: 1 to 200 characters")
    return name.strip()


async def create_schedule(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID,
    name: str, problem: shop.Problem, objective: shop.Objective, time_limit_s: float,
    notes: dict[str, Any] | None = None, start: dt.datetime | None = None,
) -> FactorySchedule:  # fmt: skip
    """`start`: the moment minute 0 stands for (default: now, to the minute), so charts can
    show clock times."""
    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.schedule.manage"
    )
    check_name(name)
    moment = _utc(start) if start is not None else utcnow().replace(second=0, microsecond=0)
    notes = {**(notes or {}), "start": moment.isoformat()}
    check_size(problem)
    try:
        plan = await asyncio.to_thread(
            shop.schedule, problem, objective, time_limit_s=time_limit_s, workers=2
        )
    except shop.ShopError as exc:
        raise ScheduleInvalid(str(exc)) from exc
    return await _store(
        session, subject, factory.id, factory.slug, name, problem, plan, objective=objective,
        notes=notes,
    )  # fmt: skip


LOT_MINUTES = 120
"""Work for one day is cut into lots of about this length, so it spreads over machines."""


async def schedule_work_orders(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID,
    day: dt.date, shift_minutes: int = 720, changeover_minutes: int = 0,
    time_limit_s: float = 10.0, shift_start: dt.time = dt.time(8, 0),
    node_time_zone: str = DEFAULT_TIME_ZONE,
) -> FactorySchedule:  # fmt: skip
    """One day of the factory's open work orders on its own machines: what the plan asks of it
    that day (less what it already reported for the day), cut into lots, each lot on any machine
    that may run its step (`eligibility.machines`, the rule allocation gave it the work by).
    Minutes count from the shift's start (`shift_start` on `day`, the factory's local time);
    work past the shift's end is lateness (overtime). A
    change of product on a machine costs `changeover_minutes`. Work orders the factory may no
    longer do (its equipment, skills or calendar changed since the plan) are named in the
    schedule's `skipped`, with the reason."""
    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.schedule.manage"
    )
    if not 60 <= shift_minutes <= 1440:
        raise ScheduleInvalid("shiftMinutes: 60 to 1440")
    if not 0 <= changeover_minutes <= shift_minutes:
        raise ScheduleInvalid("changeoverMinutes: 0 to the shift's length")
    repository = FactoryRepository(session)
    capabilities = eligibility.capabilities(
        factory.skills,
        await repository.equipment(factory.id),
        {row.process for row in await repository.capacity(factory.id, day, day)},
    )
    key = day.isoformat()
    works = await orders.factory_work_orders(
        session, subject, runtime=runtime, factory_id=factory.id
    )
    jobs: list[shop.Job] = []
    lots: dict[str, str] = {}
    skipped: list[dict[str, Any]] = []
    products: set[str] = set()
    routing: dict[uuid.UUID, dict[str, RoutingStep]] = {}
    for work in works:
        units = work.daily.get(key, 0) - work.produced.get(key, 0)
        if units <= 0:
            continue
        order = await OrderRepository(session).get(work.order_id)
        assert order is not None
        if order.id not in routing:
            routing[order.id] = {s.id: s for s in await orders.routing_steps(session, order)}
        step = routing[order.id][work.step]
        reason = eligibility.shortfall(step.needs, capabilities)
        options = eligibility.machines(step.needs, capabilities.equipment)
        if reason is not None:
            skipped.append({"work_order": str(work.id), "step": work.step, "units": units,
                            "reason": reason})  # fmt: skip
            continue
        total = units * step.hours_per_unit * 60
        count = max(1, min(len(options), math.ceil(total / LOT_MINUTES)))
        products.add(order.product)
        for k in range(count):
            share = units // count + (1 if k < units % count else 0)
            minutes = max(1, math.ceil(share * step.hours_per_unit * 60))
            job_id = f"{order.number}/{work.step}#{k + 1}"
            lots[job_id] = str(work.id)
            jobs.append(
                shop.Job(
                    id=job_id,
                    operations=(shop.Operation(options=dict.fromkeys(options, minutes)),),
                    due=shift_minutes,
                    family=order.product,
                )
            )
    if not jobs:
        why = "; ".join(f"{s['step']}: {s['reason']}" for s in skipped)
        raise ScheduleInvalid(
            f"no work for {factory.slug} on {day} that its machines can do"
            + (f" ({why})" if why else "")
        )
    used = dict.fromkeys(m for job in jobs for op in job.operations for m in op.options)
    problem = shop.Problem(
        machines=tuple(shop.Machine(id=m) for m in used),
        jobs=tuple(jobs),
        setups={(a, b): changeover_minutes for a in products for b in products if a != b},
    )
    return await create_schedule(
        session, subject, runtime=runtime, factory_id=factory.id, name=f"work orders {day}",
        problem=problem, objective=shop.Objective(lateness=1.0, makespan=0.1),
        time_limit_s=time_limit_s, notes={"lots": lots, "skipped": skipped, "day": key},
        start=dt.datetime.combine(day, shift_start, tzinfo=time_zone(factory, node_time_zone)),
    )  # fmt: skip


async def insert_rush(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, schedule_id: uuid.UUID,
    rush: shop.Job, now: int, change_penalty: float, name: str, time_limit_s: float,
) -> FactorySchedule:  # fmt: skip
    """A new schedule: the old one with the rush job inserted, tasks begun before `now` kept,
    every other change penalised."""
    base = await get_schedule(session, subject, runtime=runtime, schedule_id=schedule_id)
    factory = await get_factory(session, base.factory_id)
    await check_at_factory(
        runtime,
        subject,
        "node.schedule.manage",
        factory,
        ScheduleNotFound(f"no schedule {schedule_id} on this node"),
    )
    check_name(name)
    problem = problem_from_json(base.problem)
    try:
        check_size(shop.add_job(problem, rush))
    except shop.ShopError as exc:
        raise ScheduleInvalid(str(exc)) from exc
    objective = shop.Objective(**base.plan.get("objective_weights", {}))
    objective = shop.Objective(
        lateness=objective.lateness, makespan=objective.makespan, changes=change_penalty
    )
    try:
        plan = await asyncio.to_thread(
            shop.insert_rush, problem, plan_from_json(base.plan), rush, now=now,
            objective=objective, time_limit_s=time_limit_s, workers=2,
        )  # fmt: skip
    except shop.ShopError as exc:
        raise ScheduleInvalid(str(exc)) from exc
    return await _store(
        session, subject, factory.id, factory.slug, name, shop.add_job(problem, rush), plan,
        objective=objective, notes={"start": plan_start(base).isoformat()},
    )  # fmt: skip


async def _store(
    session: AsyncSession, subject: Subject, factory_id: uuid.UUID, slug: str, name: str,
    problem: shop.Problem, plan: shop.ShopPlan, objective: shop.Objective | None = None,
    notes: dict[str, Any] | None = None,
) -> FactorySchedule:  # fmt: skip
    stored = {**plan.as_json(), **(notes or {})}
    if objective is not None:
        stored["objective_weights"] = {
            "lateness": objective.lateness, "makespan": objective.makespan,
        }  # fmt: skip
    row = FactorySchedule(
        factory_id=factory_id,
        name=check_name(name),
        problem=problem_json(problem),
        plan=stored,
        created_by=subject.label,
    )
    session.add(row)
    await session.flush()
    await append_entry(
        session, actor=subject, action="node.schedule.create", resource=f"factory:{slug}",
        outcome="ok", detail={"schedule": str(row.id), "name": row.name, "status": plan.status},
    )  # fmt: skip
    return row


async def get_schedule(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, schedule_id: uuid.UUID
) -> FactorySchedule:
    row = await ScheduleRepository(session).get(schedule_id)
    if row is None:
        raise ScheduleNotFound(f"no schedule {schedule_id} on this node")
    factory = await get_factory(session, row.factory_id)
    await check_at_factory(
        runtime,
        subject,
        "node.schedule.read",
        factory,
        ScheduleNotFound(f"no schedule {schedule_id} on this node"),
    )
    return row


async def compare_schedules(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, ids: Sequence[uuid.UUID]
) -> dict[str, Any]:
    if not 1 <= len(ids) <= 10:
        raise InvalidInput("compare 1 to 10 schedules")
    rows = [await get_schedule(session, subject, runtime=runtime, schedule_id=i) for i in ids]
    names = [f"{row.name} ({str(row.id)[:8]})" for row in rows]
    return shop.compare({n: plan_from_json(row.plan) for n, row in zip(names, rows, strict=True)})


async def list_schedules(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID,
    page: PageRequest,
) -> Page[FactorySchedule]:  # fmt: skip
    """A factory's schedules, newest first, decided once on the factory (an exact total)."""
    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.schedule.read"
    )
    return await ScheduleRepository(session).page(factory.id, page)


def _utc(moment: dt.datetime) -> dt.datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def plan_start(row: FactorySchedule) -> dt.datetime:
    """The moment minute 0 of the schedule stands for: stored with it, or (schedules made
    before it was) when it was made."""
    stored = row.plan.get("start")
    if isinstance(stored, str):
        try:
            return _utc(dt.datetime.fromisoformat(stored))
        except ValueError:
            pass
    return _utc(row.created_at)


def time_zone(factory: Factory, node_time_zone: str) -> ZoneInfo:
    """The factory's own zone when its location names one, else the node's."""
    zone = factory.location.get("time_zone")
    return ZoneInfo(zone if isinstance(zone, str) and known_time_zone(zone) else node_time_zone)


def gantt(row: FactorySchedule) -> dict[str, Any]:
    return gantt_json(problem_from_json(row.problem), plan_from_json(row.plan))


def chart(
    row: FactorySchedule, fmt: Literal["png", "svg"], *, zone: ZoneInfo = DEFAULT_ZONE
) -> bytes:
    return render(
        problem_from_json(row.problem), plan_from_json(row.plan), fmt, title=row.name,
        clock=Clock(start=plan_start(row), zone=zone), labels=task_labels(row),
    )  # fmt: skip


def task_labels(row: FactorySchedule) -> dict[str, str]:
    """A bar's words per job: for work-order lots the order number, step and product; for jobs
    given by hand their id and family."""
    problem = problem_from_json(row.problem)
    labels: dict[str, str] = {}
    for job in problem.jobs:
        words = job.id.replace("/", " · ").replace("#", " lot ")
        labels[job.id] = f"{words} · {job.family}" if job.family else words
    return labels


def violations(row: FactorySchedule) -> list[str]:
    return shop.violations(problem_from_json(row.problem), plan_from_json(row.plan))
