"""Planning and re-planning an order as jobs (`orders.plan`, `orders.replan`): the request
checks who asks and that the order is open, queues the job and returns it at once; a worker
(or the API process itself when embedded) runs the allocation model, which may take minutes
on a large node. The plan is written in the job's session, so it is committed with the job's
success: a job run twice (its worker presumed dead) stores one plan version. The order's
followers hear of the plan as they do of one made at once (`orderProgress`: planned or
replanned, once committed); the job's result names the plan (`plan_id`, `version`)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.jobs.models import Job
from regional_node.jobs.service import check_key, create_job
from regional_node.orders import service
from yunfab.jobs.service import subject_from, subject_json
from yunfab.subject import Subject

if TYPE_CHECKING:
    from regional_node.runtime import NodeRuntime

PLAN = "orders.plan"
REPLAN = "orders.replan"
ACTION = "node.order.plan"
MAX_TIME_LIMIT_S = 600.0
"""A job may search longer than a request (120 s): no one waits on an open connection."""


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
        "time_limit_s": min(max(time_limit_s, 1.0), MAX_TIME_LIMIT_S),
        "subject": subject_json(subject),
    }
    if replan:
        # The day is fixed when asked: a job that waits in the queue past midnight re-plans
        # from the day the operator meant.
        payload |= {"as_of": service.replan_day(as_of).isoformat(), "reason": reason}
    kind = REPLAN if replan else PLAN
    job, new = await create_job(
        session, subject, kind=kind, key=key, factory_id=None, action=ACTION, payload=payload
    )
    if new:
        await session.commit()  # the job is there before anyone is told to run it
        await runtime.jobs.submit(job.id, kind)
    return job


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
