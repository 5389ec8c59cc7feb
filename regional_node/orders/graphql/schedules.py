from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from regional_node.graphql.context import NodeContext
from regional_node.jobs.graphql.types import JobType
from regional_node.orders import chart_links, schedules
from regional_node.orders import jobs as order_jobs
from regional_node.orders.models import FactorySchedule
from solvers.scheduling import shop
from yunfab.graphql.pagination import Connection
from yunfab.graphql.resolvers import mutate, page_request, query, service_input


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
    return service_input(
        shop.Job,
        job,
        operations=tuple(
            shop.Operation(options={o.machine: o.minutes for o in op.options})
            for op in job.operations
        ),
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


@strawberry.enum(name="ChartFormat")
class ChartFormat(enum.Enum):
    PNG = "png"
    SVG = "svg"


@strawberry.type(name="ScheduledTask")
class ScheduledTaskType:
    job: str
    operation: int = strawberry.field(description="Index in the job's operations, from 0.")
    machine: str
    start: int = strawberry.field(description="Minutes from the plan start.")
    end: int
    setup: int = strawberry.field(description="Setup minutes just before `start`.")


@strawberry.type(name="JobLateness")
class JobLatenessType:
    job: str
    minutes: int


@strawberry.type(name="OperationRef")
class OperationRefType:
    job: str
    operation: int


@strawberry.type(name="ScheduleLot", description="A lot of a work order, scheduled as a job.")
class ScheduleLotType:
    job: str
    work_order_id: uuid.UUID


@strawberry.type(name="SkippedWork", description="Work the factory's machines cannot do.")
class SkippedWorkType:
    work_order_id: uuid.UUID
    step: str
    units: int
    reason: str


@strawberry.type(name="SchedulePlan")
class SchedulePlanType:
    status: str = strawberry.field(description="optimal, feasible, infeasible or unknown.")
    objective: float | None
    bound: float | None
    makespan: int | None
    weighted_lateness: float | None
    solve_time_s: float
    start: dt.datetime = strawberry.field(description="The moment minute 0 stands for.")
    tasks: list[ScheduledTaskType]
    lateness: list[JobLatenessType] = strawberry.field(description="Minutes late per job.")
    changed: list[OperationRefType] = strawberry.field(
        description="Operations moved or reassigned against the baseline (rush insertion)."
    )
    pinned: list[OperationRefType] = strawberry.field(
        description="Baseline operations begun before `frozenBefore`, kept as they were."
    )
    frozen_before: int | None
    day: dt.date | None = strawberry.field(description="For a day of work orders: the day.")
    lots: list[ScheduleLotType]
    skipped: list[SkippedWorkType]

    @classmethod
    def from_model(cls, row: FactorySchedule) -> SchedulePlanType:
        plan = row.plan
        return cls(
            status=plan["status"],
            objective=plan["objective"],
            bound=plan["bound"],
            makespan=plan["makespan"],
            weighted_lateness=plan["weighted_lateness"],
            solve_time_s=plan["solve_time_s"],
            start=schedules.plan_start(row),
            tasks=[
                ScheduledTaskType(
                    job=t["job"],
                    operation=t["operation"],
                    machine=t["machine"],
                    start=t["start"],
                    end=t["end"],
                    setup=t.get("setup", 0),
                )
                for t in plan["tasks"]
            ],  # fmt: skip
            lateness=[JobLatenessType(job=j, minutes=m) for j, m in plan["lateness"].items()],
            changed=[
                OperationRefType(job=c["job"], operation=c["operation"])
                for c in plan.get("changed", ())
            ],  # fmt: skip
            pinned=[
                OperationRefType(job=c["job"], operation=c["operation"])
                for c in plan.get("pinned", ())
            ],  # fmt: skip
            frozen_before=plan.get("frozen_before"),
            day=dt.date.fromisoformat(plan["day"]) if plan.get("day") else None,
            lots=[
                ScheduleLotType(job=j, work_order_id=uuid.UUID(w))
                for j, w in plan.get("lots", {}).items()
            ],  # fmt: skip
            skipped=[
                SkippedWorkType(
                    work_order_id=uuid.UUID(k["work_order"]),
                    step=k["step"],
                    units=k["units"],
                    reason=k["reason"],
                )
                for k in plan.get("skipped", ())
            ],  # fmt: skip
        )


@strawberry.type(name="GanttWindow")
class GanttWindowType:
    start: int
    end: int
    kind: str = strawberry.field(description="off-shift or downtime.")


@strawberry.type(name="GanttTask")
class GanttTaskType:
    job: str
    operation: int
    label: str = strawberry.field(description="Order number, step and product, or the job id.")
    start: int
    end: int
    setup: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    family: str
    late: bool = strawberry.field(description="Its job ends after its due date.")


@strawberry.type(name="GanttMachine")
class GanttMachineType:
    id: str
    name: str
    tasks: list[GanttTaskType]
    unavailable: list[GanttWindowType]


@strawberry.type(name="GanttJob")
class GanttJobType:
    id: str
    release: int
    due: int | None
    end: int | None
    lateness: int | None


@strawberry.type(name="GanttChart", description="A schedule's Gantt chart as data.")
class GanttChartType:
    status: str
    makespan: int | None
    view_end: int = strawberry.field(description="Where the chart's time axis ends (minutes).")
    start: dt.datetime = strawberry.field(description="The moment minute 0 stands for.")
    machines: list[GanttMachineType]
    jobs: list[GanttJobType]

    @classmethod
    def from_model(cls, row: FactorySchedule) -> GanttChartType:
        data: dict[str, Any] = schedules.gantt(row)
        start = schedules.plan_start(row)
        labels = schedules.task_labels(row)

        def at(minutes: int) -> dt.datetime:
            return start + dt.timedelta(minutes=minutes)

        return cls(
            status=data["status"],
            makespan=data["makespan"],
            view_end=data["view_end"],
            start=start,
            machines=[
                GanttMachineType(
                    id=m["id"],
                    name=m["name"],
                    tasks=[
                        GanttTaskType(
                            job=t["job"],
                            operation=t["operation"],
                            label=labels.get(t["job"], t["job"]),
                            start=t["start"],
                            end=t["end"],
                            setup=t["setup"],
                            starts_at=at(t["start"]),
                            ends_at=at(t["end"]),
                            family=t["family"],
                            late=t["late"],
                        )
                        for t in m["tasks"]
                    ],  # fmt: skip
                    unavailable=[GanttWindowType(**w) for w in m["unavailable"]],
                )
                for m in data["machines"]
            ],
            jobs=[GanttJobType(**j) for j in data["jobs"]],
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
    plan: SchedulePlanType = strawberry.field(
        description="Tasks, lateness, changes against a baseline."
    )
    gantt: GanttChartType = strawberry.field(description="The Gantt chart as data, per machine.")
    chart_path: str = strawberry.field(
        description="GET it with `.png` or `.svg` appended (same token) for a picture.",
        deprecation_reason="Use `chartUrl`, which opens without a bearer header.",
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
            plan=SchedulePlanType.from_model(row),
            gantt=GanttChartType.from_model(row),
            chart_path=f"/api/v1/schedules/{row.id}/gantt",
        )

    @strawberry.field(
        description="A link to the chart as a picture that opens without a bearer header (a "
        "browser's <img>): signed for you, for a few minutes (the node's chart_link_ttl_s)."
    )
    def chart_url(
        self,
        info: Info[NodeContext, None],
        format: ChartFormat = ChartFormat.PNG,
    ) -> str:
        context = info.context
        link = chart_links.new_link(
            self.id, format.value, context.subject.label, ttl_s=context.settings.chart_link_ttl_s
        )
        return chart_links.chart_url(context.settings.chart_link_key(), link)


@strawberry.type(name="ScenarioSummary")
class ScenarioSummaryType:
    name: str
    status: str
    objective: float | None
    bound: float | None
    makespan: int | None
    weighted_lateness: float | None
    late_jobs: list[str]
    changes: int
    solve_time_s: float


@strawberry.type(name="ScenarioValue")
class ScenarioValueType:
    scenario: str
    value: int | None = strawberry.field(description="Null where the scenario lacks the job.")


@strawberry.type(name="ComparedJob")
class ComparedJobType:
    id: str
    ends: list[ScenarioValueType]
    lateness: list[ScenarioValueType]


@strawberry.type(name="BestScenarios")
class BestScenariosType:
    metric: str = strawberry.field(description="objective, makespan or weighted_lateness.")
    scenarios: list[str]


@strawberry.type(name="ScheduleComparison")
class ScheduleComparisonType:
    scenarios: list[ScenarioSummaryType]
    jobs: list[ComparedJobType]
    best: list[BestScenariosType] = strawberry.field(
        description="Per metric, the feasible scenarios with its lowest value."
    )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScheduleComparisonType:
        return cls(
            scenarios=[ScenarioSummaryType(**row) for row in data["scenarios"]],
            jobs=[
                ComparedJobType(
                    id=job["id"],
                    ends=[ScenarioValueType(scenario=n, value=v) for n, v in job["end"].items()],
                    lateness=[
                        ScenarioValueType(scenario=n, value=v) for n, v in job["lateness"].items()
                    ],
                )
                for job in data["jobs"]
            ],
            best=[BestScenariosType(metric=m, scenarios=n) for m, n in data["best"].items()],
        )


@strawberry.type
class ScheduleQuery:
    @strawberry.field
    async def factory_schedule(
        self, info: Info[NodeContext, None], id: uuid.UUID
    ) -> FactoryScheduleType:
        context = info.context
        row = await query(context, schedules.get_schedule, runtime=context.runtime, schedule_id=id)
        return FactoryScheduleType.from_model(row)

    @strawberry.field(
        description="What-if: schedules side by side (makespan, lateness, late jobs, changes), "
        "and every job's end in each."
    )
    async def compare_schedules(
        self, info: Info[NodeContext, None], ids: list[uuid.UUID]
    ) -> ScheduleComparisonType:
        context = info.context
        data = await query(context, schedules.compare_schedules, runtime=context.runtime, ids=ids)
        return ScheduleComparisonType.from_json(data)

    @strawberry.field(description="A factory's schedules, newest first.")
    async def factory_schedules(
        self,
        info: Info[NodeContext, None],
        factory_id: uuid.UUID,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[FactoryScheduleType]:
        context = info.context
        page = await query(
            context,
            schedules.list_schedules,
            runtime=context.runtime,
            factory_id=factory_id,
            page=page_request(context, first, after, arity=2),
        )
        return Connection[FactoryScheduleType].from_page(
            page,
            key=lambda row: (row.created_at.isoformat(), str(row.id)),
            node=FactoryScheduleType.from_model,
            after=after,
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
        start: Annotated[
            dt.datetime | None,
            strawberry.argument(description="The moment minute 0 stands for; default: now."),
        ] = None,
    ) -> FactoryScheduleType:
        weights = objective or ShopObjectiveInput()
        context = info.context
        row = await mutate(
            context, schedules.create_schedule, runtime=context.runtime, factory_id=factory_id,
            name=name, problem=_problem(input),
            objective=service_input(shop.Objective, weights),
            time_limit_s=min(max(time_limit_s, 1.0), 60.0), start=start,
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
        shift_start: Annotated[
            dt.time,
            strawberry.argument(description="When the shift begins, the factory's local time."),
        ] = dt.time(8, 0),
    ) -> FactoryScheduleType:
        context = info.context
        row = await mutate(
            context, schedules.schedule_work_orders, runtime=context.runtime, factory_id=factory_id,
            day=day, shift_minutes=shift_minutes, changeover_minutes=changeover_minutes,
            time_limit_s=min(max(time_limit_s, 1.0), 60.0), shift_start=shift_start,
            node_time_zone=context.settings.time_zone,
        )  # fmt: skip
        return FactoryScheduleType.from_model(row)

    @strawberry.mutation(
        description="As `scheduleFactory`, as a job: returns at once with it; `job(id:)` tells "
        "how it goes and, once it succeeded, the schedule (`result.scheduleId`). A node scaled "
        "out schedules on its workers; `timeLimitS` may be up to 600 here. Asking again with "
        "the same `key` returns the same job."
    )
    async def start_factory_schedule(
        self,
        info: Info[NodeContext, None],
        factory_id: uuid.UUID,
        name: str,
        input: ShopInput,
        objective: ShopObjectiveInput | None = None,
        time_limit_s: float = 10.0,
        start: Annotated[
            dt.datetime | None,
            strawberry.argument(description="The moment minute 0 stands for; default: now."),
        ] = None,
        key: str | None = None,
    ) -> JobType:
        context = info.context
        row = await mutate(
            context, order_jobs.start_schedule, runtime=context.runtime, factory_id=factory_id,
            name=name, problem=_problem(input),
            objective=service_input(shop.Objective, objective or ShopObjectiveInput()),
            time_limit_s=time_limit_s, start=start, key=key,
        )  # fmt: skip
        return JobType.from_model(row)

    @strawberry.mutation(
        description="As `scheduleWorkOrders`, as a job (see `startFactorySchedule`); the day's "
        "work orders are read when the job runs."
    )
    async def start_work_order_schedule(
        self,
        info: Info[NodeContext, None],
        factory_id: uuid.UUID,
        day: dt.date,
        shift_minutes: int = 720,
        changeover_minutes: int = 0,
        time_limit_s: float = 10.0,
        shift_start: Annotated[
            dt.time,
            strawberry.argument(description="When the shift begins, the factory's local time."),
        ] = dt.time(8, 0),
        key: str | None = None,
    ) -> JobType:
        context = info.context
        row = await mutate(
            context, order_jobs.start_work_order_schedule, runtime=context.runtime,
            factory_id=factory_id, day=day, shift_minutes=shift_minutes,
            changeover_minutes=changeover_minutes, time_limit_s=time_limit_s,
            shift_start=shift_start, node_time_zone=context.settings.time_zone, key=key,
        )  # fmt: skip
        return JobType.from_model(row)

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
        row = await mutate(
            context, schedules.insert_rush, runtime=context.runtime, schedule_id=schedule_id,
            rush=_job(job), now=now, change_penalty=change_penalty, name=name,
            time_limit_s=min(max(time_limit_s, 1.0), 60.0),
        )  # fmt: skip
        return FactoryScheduleType.from_model(row)
