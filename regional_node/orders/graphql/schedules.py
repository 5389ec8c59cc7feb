from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from regional_node.graphql.context import NodeContext
from regional_node.orders import schedules
from regional_node.orders.models import FactorySchedule
from regional_node.scheduling import shop
from yunfab.db import session_scope


@strawberry.input(description="A half-open window [start, end) in minutes from the plan start.")
class WindowInput:
    start: int
    end: int


@strawberry.input
class ShopMachineInput:
    id: str
    name: str = ""
    shifts: list[WindowInput] = strawberry.field(
        default_factory=list, description="Working windows; none: always working."
    )
    downtime: list[WindowInput] = strawberry.field(default_factory=list)


@strawberry.input
class MachineOptionInput:
    machine: str
    minutes: int


@strawberry.input
class ShopOperationInput:
    options: list[MachineOptionInput] = strawberry.field(
        description="The machines it may run on, and how long it takes on each."
    )


@strawberry.input
class ShopJobInput:
    id: str
    operations: list[ShopOperationInput]
    release: int = 0
    due: int | None = None
    weight: float = 1.0
    family: str = strawberry.field(default="", description="Product family, for setup times.")


@strawberry.input
class SetupInput:
    before: str
    after: str
    minutes: int


@strawberry.input
class ShopInput:
    machines: list[ShopMachineInput]
    jobs: list[ShopJobInput]
    setups: list[SetupInput] = strawberry.field(default_factory=list)
    horizon: int | None = None


@strawberry.input
class ShopObjectiveInput:
    lateness: float = strawberry.field(default=1.0, description="Per weighted minute late.")
    makespan: float = 0.1


def _job(job: ShopJobInput) -> shop.Job:
    return shop.Job(
        id=job.id,
        operations=tuple(
            shop.Operation(options={o.machine: o.minutes for o in op.options})
            for op in job.operations
        ),
        release=job.release,
        due=job.due,
        weight=job.weight,
        family=job.family,
    )


def _problem(input: ShopInput) -> shop.Problem:
    return shop.Problem(
        machines=tuple(
            shop.Machine(
                id=m.id,
                name=m.name,
                shifts=tuple((w.start, w.end) for w in m.shifts),
                downtime=tuple((w.start, w.end) for w in m.downtime),
            )
            for m in input.machines
        ),
        jobs=tuple(_job(j) for j in input.jobs),
        setups={(s.before, s.after): s.minutes for s in input.setups},
        horizon=input.horizon,
    )


@strawberry.type(name="FactorySchedule")
class FactoryScheduleType:
    id: uuid.UUID
    factory_id: uuid.UUID
    name: str
    created_by: str
    created_at: dt.datetime
    status: str
    makespan: int | None
    weighted_lateness: float | None
    objective: float | None
    bound: float | None
    plan: JSON = strawberry.field(description="Tasks, lateness, changes against a baseline.")
    gantt: JSON = strawberry.field(description="The Gantt chart as data, per machine.")
    chart_path: str = strawberry.field(
        description="GET it with `.png` or `.svg` appended (same token) for a picture."
    )

    @classmethod
    def from_model(cls, row: FactorySchedule) -> FactoryScheduleType:
        return cls(
            id=row.id,
            factory_id=row.factory_id,
            name=row.name,
            created_by=row.created_by,
            created_at=row.created_at,
            status=row.plan["status"],
            makespan=row.plan["makespan"],
            weighted_lateness=row.plan["weighted_lateness"],
            objective=row.plan["objective"],
            bound=row.plan["bound"],
            plan=row.plan,  # type: ignore[arg-type]
            gantt=schedules.gantt(row),  # type: ignore[arg-type]
            chart_path=f"/api/v1/schedules/{row.id}/gantt",
        )


@strawberry.type
class ScheduleQuery:
    @strawberry.field
    async def factory_schedule(
        self, info: Info[NodeContext, None], id: uuid.UUID
    ) -> FactoryScheduleType:
        context = info.context
        row = await schedules.get_schedule(
            context.session, context.subject, runtime=context.runtime, schedule_id=id
        )
        return FactoryScheduleType.from_model(row)

    @strawberry.field(
        description="What-if: schedules side by side (makespan, lateness, late jobs, changes), "
        "and every job's end in each."
    )
    async def compare_schedules(self, info: Info[NodeContext, None], ids: list[uuid.UUID]) -> JSON:
        context = info.context
        return await schedules.compare_schedules(  # type: ignore[return-value]
            context.session, context.subject, runtime=context.runtime, ids=ids
        )


@strawberry.type
class ScheduleMutation:
    @strawberry.mutation(
        description="Schedule a factory's jobs on its machines (flexible job shop, CP-SAT): due "
        "dates, releases, family setups, shifts and downtime; weighted lateness and makespan."
    )
    async def schedule_factory(
        self,
        info: Info[NodeContext, None],
        factory_id: uuid.UUID,
        name: str,
        input: ShopInput,
        objective: ShopObjectiveInput | None = None,
        time_limit_s: float = 10.0,
    ) -> FactoryScheduleType:
        weights = objective or ShopObjectiveInput()
        context = info.context
        async with session_scope(context.sessionmaker) as session:
            row = await schedules.create_schedule(
                session, context.subject, runtime=context.runtime, factory_id=factory_id,
                name=name, problem=_problem(input),
                objective=shop.Objective(lateness=weights.lateness, makespan=weights.makespan),
                time_limit_s=min(max(time_limit_s, 1.0), 60.0),
            )  # fmt: skip
        return FactoryScheduleType.from_model(row)

    @strawberry.mutation(
        description="Schedule one day of the factory's open work orders on its machines: the "
        "day's planned units cut into lots, each on any machine of the type its step needs; "
        "minutes from the shift's start, work past its end counts as late (overtime)."
    )
    async def schedule_work_orders(
        self,
        info: Info[NodeContext, None],
        factory_id: uuid.UUID,
        day: dt.date,
        shift_minutes: int = 720,
        changeover_minutes: int = 0,
        time_limit_s: float = 10.0,
    ) -> FactoryScheduleType:
        context = info.context
        async with session_scope(context.sessionmaker) as session:
            row = await schedules.schedule_work_orders(
                session, context.subject, runtime=context.runtime, factory_id=factory_id,
                day=day, shift_minutes=shift_minutes, changeover_minutes=changeover_minutes,
                time_limit_s=min(max(time_limit_s, 1.0), 60.0),
            )  # fmt: skip
        return FactoryScheduleType.from_model(row)

    @strawberry.mutation(
        description="A new schedule with a rush job inserted: tasks begun before `now` stay, "
        "every other moved operation costs `changePenalty` (in weighted minutes late)."
    )
    async def insert_rush_job(
        self,
        info: Info[NodeContext, None],
        schedule_id: uuid.UUID,
        job: ShopJobInput,
        now: int,
        name: str,
        change_penalty: float = 10.0,
        time_limit_s: float = 10.0,
    ) -> FactoryScheduleType:
        context = info.context
        async with session_scope(context.sessionmaker) as session:
            row = await schedules.insert_rush(
                session, context.subject, runtime=context.runtime, schedule_id=schedule_id,
                rush=_job(job), now=now, change_penalty=change_penalty, name=name,
                time_limit_s=min(max(time_limit_s, 1.0), 60.0),
            )  # fmt: skip
        return FactoryScheduleType.from_model(row)
