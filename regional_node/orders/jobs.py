"""Long work of the orders domain as jobs.

Planning and re-planning an order (`orders.plan`, `orders.replan`): the request
checks who asks and that the order is open, queues the job and returns it at once; a worker
(or the API process itself when embedded) runs the allocation model, which may take minutes
on a large node. The plan is written in the job's session, so it is committed with the job's
success: a job run twice (its worker presumed dead) stores one plan version. The order's
followers hear of the plan as they do of one made at once (`orderProgress`: planned or
replanned, once committed); the job's result names the plan (`plan_id`, `version`).

Scheduling a factory's machines (`orders.schedule`): a problem given whole, or a day of the
factory's work orders; the job is the factory's (who may manage its schedules reads it), and
its result names the schedule (`schedule_id`, `status`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.factories.service import factory_for
from regional_node.jobs.models import Job
from regional_node.jobs.service import check_key, queue_job
from regional_node.orders import schedules, service
from solvers.scheduling import shop
from yunfab.db import utcnow
from yunfab.jobs.service import subject_from, subject_json
from yunfab.subject import Subject

if TYPE_CHECKING:
    from regional_node.runtime import NodeRuntime

PLAN = "orders.plan"
REPLAN = "orders.replan"
ACTION = "node.order.plan"
SCHEDULE = "orders.schedule"
SCHEDULE_ACTION = "node.schedule.manage"
MAX_TIME_LIMIT_S = 600.0
"""A job may search longer than a request (120 s, 60 s for a schedule): no one waits on an
open connection."""


def _time_limit(seconds: float) -> float:
    return min(max(seconds, 1.0), MAX_TIME_LIMIT_S)


async def start_planning(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, order_id: uuid.UUID,
    replan: bool, as_of: dt.date | None, reason: str, time_limit_s: float, key: str | None,
) -> Job:  # fmt: skip
    """Queue a plan (or, with `replan`, a re-plan from `as_of`) of the order; asking again
    with the same `key` returns the job already made."""
    check_key(key)
    order = await service.get_order(
        session, subject, runtime=runtime, order_id=order_id, action=ACTION
    )
    service.check_open(order)
    payload: dict[str, Any] = {
        "order_id": str(order.id),
        "time_limit_s": _time_limit(time_limit_s),
        "subject": subject_json(subject),
    }
    if replan:
        # The day is fixed when asked: a job that waits in the queue past midnight re-plans
        # from the day the operator meant.
        payload |= {"as_of": service.replan_day(as_of).isoformat(), "reason": reason}
    return await queue_job(
        session, subject, runtime=runtime, kind=REPLAN if replan else PLAN, key=key,
        factory_id=None, action=ACTION, payload=payload,
    )  # fmt: skip


async def run_planning(runtime: NodeRuntime, session: AsyncSession, job: Job) -> dict[str, Any]:
    """Plan or re-plan (flushed, not committed: the runner commits it with the job's success).
    An order that cannot be planned ends the job, failed, with the constraint."""
    payload = job.payload
    subject = subject_from(payload["subject"])
    order_id = uuid.UUID(payload["order_id"])
    if job.kind == REPLAN:
        plan, order = await service.replan_order(
            session, subject, runtime=runtime, order_id=order_id,
            as_of=dt.date.fromisoformat(payload["as_of"]), reason=payload["reason"],
            time_limit_s=payload["time_limit_s"],
        )  # fmt: skip
    else:
        plan, order = await service.plan_order(
            session, subject, runtime=runtime, order_id=order_id,
            time_limit_s=payload["time_limit_s"],
        )  # fmt: skip
    return {
        "plan_id": str(plan.id),
        "order_id": str(order.id),
        "version": plan.version,
        "status": plan.status,
    }


async def start_schedule(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID,
    name: str, problem: shop.Problem, objective: shop.Objective, time_limit_s: float,
    start: dt.datetime | None, key: str | None,
) -> Job:  # fmt: skip
    """Queue the scheduling of `problem` on the factory's machines (`start`, default now: the
    moment minute 0 stands for); checked for who asks, its name and size before it is queued."""
    check_key(key)
    await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action=SCHEDULE_ACTION
    )
    schedules.check_size(problem)
    payload = {
        "mode": "problem",
        "factory_id": str(factory_id),
        "name": schedules.check_name(name),
        "problem": schedules.problem_json(problem),
        "objective": dataclasses.asdict(objective),
        "time_limit_s": _time_limit(time_limit_s),
        "start": (start or utcnow().replace(second=0, microsecond=0)).isoformat(),
        "subject": subject_json(subject),
    }
    return await queue_job(
        session, subject, runtime=runtime, kind=SCHEDULE, key=key, factory_id=factory_id,
        action=SCHEDULE_ACTION, payload=payload,
    )  # fmt: skip


async def start_work_order_schedule(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID,
    day: dt.date, shift_minutes: int, changeover_minutes: int, time_limit_s: float,
    shift_start: dt.time, node_time_zone: str, key: str | None,
) -> Job:  # fmt: skip
    """Queue the scheduling of one day of the factory's open work orders (the work orders are
    read when the job runs)."""
    check_key(key)
    await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action=SCHEDULE_ACTION
    )
    payload = {
        "mode": "work_orders",
        "factory_id": str(factory_id),
        "day": day.isoformat(),
        "shift_minutes": shift_minutes,
        "changeover_minutes": changeover_minutes,
        "time_limit_s": _time_limit(time_limit_s),
        "shift_start": shift_start.isoformat(),
        "node_time_zone": node_time_zone,
        "subject": subject_json(subject),
    }
    return await queue_job(
        session, subject, runtime=runtime, kind=SCHEDULE, key=key, factory_id=factory_id,
        action=SCHEDULE_ACTION, payload=payload,
    )  # fmt: skip


async def run_schedule(runtime: NodeRuntime, session: AsyncSession, job: Job) -> dict[str, Any]:
    """Schedule (flushed, not committed: the runner commits it with the job's success)."""
    payload = job.payload
    subject = subject_from(payload["subject"])
    factory_id = uuid.UUID(payload["factory_id"])
    if payload["mode"] == "work_orders":
        row = await schedules.schedule_work_orders(
            session, subject, runtime=runtime, factory_id=factory_id,
            day=dt.date.fromisoformat(payload["day"]), shift_minutes=payload["shift_minutes"],
            changeover_minutes=payload["changeover_minutes"],
            time_limit_s=payload["time_limit_s"],
            shift_start=dt.time.fromisoformat(payload["shift_start"]),
            node_time_zone=payload["node_time_zone"],
        )  # fmt: skip
    else:
        row = await schedules.create_schedule(
            session, subject, runtime=runtime, factory_id=factory_id, name=payload["name"],
            problem=schedules.problem_from_json(payload["problem"]),
            objective=shop.Objective(**payload["objective"]),
            time_limit_s=payload["time_limit_s"],
            start=dt.datetime.fromisoformat(payload["start"]),
        )  # fmt: skip
    return {"schedule_id": str(row.id), "status": row.plan["status"]}
