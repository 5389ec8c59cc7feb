"""Scheduling one factory's orders: a flexible job shop with CP-SAT.

Where `jobshop` solves the public benchmarks (makespan only), this is the plan a factory runs:
jobs with release and due dates, setup times between product families, shifts and downtime,
and an objective of weighted lateness and makespan. A rush order goes in with the rest of the
plan pinned where it has started and penalised where it moves, and scenarios compare side by side.

Times are whole minutes from the plan start. The model:

- an optional interval per (operation, machine it may run on), exactly one present;
- a machine's time off shift and its downtime are fixed intervals in its no-overlap, so an
  operation (never pre-empted) and the setup just before it lie inside one working window;
  touching or overlapping shift windows count as one;
- where product families on a machine need setups, a circuit per machine (a dummy node for
  "first" and "last") orders its operations and charges the setup of each direct predecessor;
  the first operation on a machine needs none;
- the setup is machine time right before the operation; it may overlap the job's previous
  operation or precede its release (the machine is changed over while the material arrives).

`violations` checks a plan against every hard rule without the solver.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ortools.sat.python import cp_model

Window = tuple[int, int]
OperationKey = tuple[str, int]

STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.UNKNOWN: "unknown",
}


class ShopError(ValueError):
    """The problem (or a baseline plan for it) is malformed; the message names the cause."""


@dataclass(frozen=True)
class Machine:
    id: str
    name: str = ""
    shifts: tuple[Window, ...] = ()
    """Working windows [start, end); none means the machine is always working."""
    downtime: tuple[Window, ...] = ()
    """Unavailable windows [start, end): breakdowns, maintenance."""


@dataclass(frozen=True)
class Operation:
    options: Mapping[str, int]
    """Machine id -> processing minutes; the operation runs on exactly one of them."""


@dataclass(frozen=True)
class Job:
    id: str
    operations: tuple[Operation, ...]
    release: int = 0
    due: int | None = None
    weight: float = 1.0
    """Weight of this job's lateness; a rush order gets a large one."""
    family: str = ""
    """Product family, for setup times."""


@dataclass(frozen=True)
class Problem:
    machines: tuple[Machine, ...]
    jobs: tuple[Job, ...]
    setups: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """(family before, family after) -> minutes on the same machine; a missing pair needs none."""
    horizon: int | None = None
    """Nothing may end after it; by default one no sensible plan exceeds."""


@dataclass(frozen=True)
class Objective:
    lateness: float = 1.0
    """Per minute of sum(job.weight * max(0, end - due))."""
    makespan: float = 0.1
    changes: float = 0.0
    """Per operation on another machine or at another start than in the baseline plan."""


@dataclass(frozen=True)
class Task:
    job: str
    operation: int
    machine: str
    start: int
    end: int
    setup: int = 0
    """Setup minutes on the machine right before `start`."""

    @property
    def key(self) -> OperationKey:
        return (self.job, self.operation)


@dataclass
class ShopPlan:
    status: str
    """optimal, feasible, infeasible or unknown (nothing found in time)."""
    objective: float | None
    bound: float | None
    """Proven lower bound on the objective (the solver's, scaled back to minutes)."""
    makespan: int | None
    weighted_lateness: float | None
    lateness: dict[str, int]
    tasks: list[Task]
    solve_time_s: float
    changed: list[OperationKey] = field(default_factory=list)
    """Operations moved or reassigned against the baseline plan, if there was one."""
    pinned: list[Task] = field(default_factory=list)
    """Baseline tasks that had started by `frozen_before` and had to stay as they were."""
    frozen_before: int | None = None

    @property
    def feasible(self) -> bool:
        return self.status in ("optimal", "feasible")

    def job_ends(self) -> dict[str, int]:
        ends: dict[str, int] = {}
        for task in self.tasks:
            ends[task.job] = max(task.end, ends.get(task.job, task.end))
        return ends

    def as_json(self) -> dict[str, object]:
        return {
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "makespan": self.makespan,
            "weighted_lateness": self.weighted_lateness,
            "lateness": dict(self.lateness),
            "solve_time_s": round(self.solve_time_s, 3),
            "changed": [{"job": job, "operation": op} for job, op in self.changed],
            "frozen_before": self.frozen_before,
            "pinned": [{"job": t.job, "operation": t.operation} for t in self.pinned],
            "tasks": [_task_json(t) for t in self.tasks],
        }


def _task_json(task: Task) -> dict[str, object]:
    return {
        "job": task.job,
        "operation": task.operation,
        "machine": task.machine,
        "start": task.start,
        "end": task.end,
        "setup": task.setup,
    }


# ---------------------------------------------------------------------------------------------
# Availability


def merge(windows: Sequence[Window]) -> list[Window]:
    """Union of [start, end) windows, sorted; touching windows become one."""
    merged: list[Window] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def working_windows(machine: Machine, until: int) -> list[Window]:
    """When the machine can work within [0, until): its shifts (or always) less its downtime."""
    free = merge(machine.shifts) if machine.shifts else [(0, until)]
    free = [(max(a, 0), min(b, until)) for a, b in free if a < until and b > 0]
    for down_start, down_end in merge(machine.downtime):
        cut: list[Window] = []
        for a, b in free:
            if down_end <= a or down_start >= b:
                cut.append((a, b))
                continue
            if a < down_start:
                cut.append((a, down_start))
            if down_end < b:
                cut.append((down_end, b))
        free = cut
    return [(a, b) for a, b in free if a < b]


def _earliest_fit(windows: Sequence[Window], earliest: int, length: int) -> int | None:
    for a, b in windows:
        start = max(a, earliest)
        if start + length <= b:
            return start
    return None


# ---------------------------------------------------------------------------------------------
# Validation and what the solver and the greedy share


@dataclass
class _Context:
    problem: Problem
    objective: Objective
    jobs: dict[str, Job]
    machines: dict[str, Machine]
    horizon: int
    windows: dict[str, list[Window]]
    baseline: dict[OperationKey, Task]
    pinned: dict[OperationKey, Task]
    frozen_before: int | None

    def setup(self, before: str | None, after: str) -> int:
        if before is None:
            return 0
        return self.problem.setups.get((before, after), 0)

    def max_setup_into(self, family: str) -> int:
        return max((v for (_, b), v in self.problem.setups.items() if b == family), default=0)


def _check_windows(kind: str, machine: Machine, windows: Sequence[Window]) -> None:
    for window in windows:
        if len(window) != 2 or window[0] < 0 or window[1] <= window[0]:
            raise ShopError(
                f"machine {machine.id}: {kind} window {window} must be [start, end) "
                "with 0 <= start < end"
            )


def _check_weight(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ShopError(f"{name} must be a finite number >= 0, not {value}")


def _context(
    problem: Problem,
    objective: Objective,
    baseline: ShopPlan | None,
    frozen_before: int | None,
) -> _Context:
    machines: dict[str, Machine] = {}
    for machine in problem.machines:
        if machine.id in machines:
            raise ShopError(f"machine {machine.id} is listed twice")
        _check_windows("shift", machine, machine.shifts)
        _check_windows("downtime", machine, machine.downtime)
        machines[machine.id] = machine
    jobs: dict[str, Job] = {}
    for job in problem.jobs:
        if job.id in jobs:
            raise ShopError(f"job {job.id} is listed twice")
        if not job.operations:
            raise ShopError(f"job {job.id} has no operations")
        if job.release < 0:
            raise ShopError(f"job {job.id}: release {job.release} is before the plan start (0)")
        if job.due is not None and job.due < job.release:
            raise ShopError(
                f"job {job.id}: due {job.due} is before its release {job.release}, impossible"
            )
        _check_weight(f"job {job.id}: weight", job.weight)
        for index, op in enumerate(job.operations):
            if not op.options:
                raise ShopError(f"job {job.id} operation {index} has no machine option")
            for machine_id, minutes in op.options.items():
                if machine_id not in machines:
                    raise ShopError(
                        f"job {job.id} operation {index}: unknown machine {machine_id!r}"
                    )
                if minutes < 1:
                    raise ShopError(
                        f"job {job.id} operation {index} on {machine_id}: duration {minutes} "
                        "(at least 1 minute)"
                    )
        jobs[job.id] = job
    for (before, after), minutes in problem.setups.items():
        if minutes < 0:
            raise ShopError(f"setup {before!r} -> {after!r}: negative minutes {minutes}")
    _check_weight("objective lateness", objective.lateness)
    _check_weight("objective makespan", objective.makespan)
    _check_weight("objective changes", objective.changes)
    if frozen_before is not None and frozen_before < 0:
        raise ShopError(f"frozen_before {frozen_before} is before the plan start (0)")

    base: dict[OperationKey, Task] = {}
    for task in baseline.tasks if baseline is not None else []:
        owner = jobs.get(task.job)
        if owner is None or not 0 <= task.operation < len(owner.operations):
            raise ShopError(
                f"baseline: job {task.job} operation {task.operation} is not in the problem"
            )
        base[task.key] = task
    pinned = {
        key: task
        for key, task in base.items()
        if frozen_before is not None and task.start - task.setup < frozen_before
    }
    for job_id, index in pinned:
        if index > 0 and (job_id, index - 1) not in pinned:
            raise ShopError(
                f"baseline: job {job_id} operation {index} started before {frozen_before} "
                f"but operation {index - 1} did not"
            )
    for task in pinned.values():
        options = jobs[task.job].operations[task.operation].options
        if options.get(task.machine) != task.end - task.start:
            raise ShopError(
                f"baseline: job {task.job} operation {task.operation} has started on "
                f"{task.machine} for {task.end - task.start} min, which the problem does not allow"
            )

    if problem.horizon is not None:
        if problem.horizon < 1:
            raise ShopError(f"horizon {problem.horizon} must be at least 1 minute")
        horizon = problem.horizon
    else:
        # Past `latest` every machine with shifts is off and every other one is up for good, so
        # a left-justified plan (one exists among the best, pinned and baseline starts included)
        # ends by then plus all the work there is.
        latest = max(
            [0, frozen_before or 0]
            + [job.release for job in problem.jobs]
            + [end for m in problem.machines for _, end in (*m.shifts, *m.downtime)]
            + [t.end for t in base.values()]
        )
        families = {job.family for job in problem.jobs}
        setup_into = {
            family: max(
                (v for (a, b), v in problem.setups.items() if b == family and a in families),
                default=0,
            )
            for family in families
        }
        work = sum(
            max(op.options.values()) + setup_into[job.family]
            for job in problem.jobs
            for op in job.operations
        )
        horizon = latest + work
    windows = {m.id: working_windows(m, horizon) for m in problem.machines}

    for job in problem.jobs:
        for index, op in enumerate(job.operations):
            if (job.id, index) in pinned:
                continue
            if not any(
                any(b - a >= minutes for a, b in windows[machine_id])
                for machine_id, minutes in op.options.items()
            ):
                listed = ", ".join(f"{m} ({d} min)" for m, d in op.options.items())
                raise ShopError(
                    f"job {job.id} operation {index} fits no working window of its machines "
                    f"{listed} before the horizon {horizon}"
                )
    for task in pinned.values():
        occupied = task.start - task.setup
        if not any(a <= occupied and task.end <= b for a, b in windows[task.machine]):
            raise ShopError(
                f"job {task.job} operation {task.operation} has started on {task.machine} at "
                f"{task.start} and now overlaps time the machine is off or down"
            )
    return _Context(
        problem=problem,
        objective=objective,
        jobs=jobs,
        machines=machines,
        horizon=horizon,
        windows=windows,
        baseline=base,
        pinned=pinned,
        frozen_before=frozen_before,
    )


def _plan(
    context: _Context,
    tasks: list[Task],
    *,
    status: str,
    bound: float | None,
    elapsed: float,
) -> ShopPlan:
    """The plan's figures, computed from its tasks (not taken from the solver)."""
    tasks = sorted(tasks, key=lambda t: (t.start, t.machine, t.job, t.operation))
    pinned = sorted(context.pinned.values(), key=lambda t: (t.start, t.machine, t.job))
    if not tasks:
        empty = status in ("optimal", "feasible")
        return ShopPlan(
            status=status,
            objective=0.0 if empty else None,
            bound=bound,
            makespan=0 if empty else None,
            weighted_lateness=0.0 if empty else None,
            lateness={},
            tasks=[],
            solve_time_s=elapsed,
            pinned=pinned,
            frozen_before=context.frozen_before,
        )
    ends: dict[str, int] = {}
    for task in tasks:
        ends[task.job] = max(task.end, ends.get(task.job, task.end))
    lateness = {
        job.id: max(0, ends[job.id] - job.due) if job.due is not None else 0
        for job in context.problem.jobs
    }
    weighted = sum(context.jobs[j].weight * late for j, late in lateness.items())
    makespan = max(ends.values())
    changed = [
        task.key
        for task in tasks
        if task.key in context.baseline
        and (
            context.baseline[task.key].machine != task.machine
            or context.baseline[task.key].start != task.start
        )
    ]
    objective = context.objective
    value = objective.lateness * weighted + objective.makespan * makespan
    if context.baseline:
        value += objective.changes * len(changed)
    return ShopPlan(
        status=status,
        objective=round(value, 6),
        bound=bound,
        makespan=makespan,
        weighted_lateness=round(weighted, 6),
        lateness=lateness,
        tasks=tasks,
        solve_time_s=elapsed,
        changed=changed,
        pinned=pinned,
        frozen_before=context.frozen_before,
    )


# ---------------------------------------------------------------------------------------------
# Greedy


RULES = ("finish", "due", "slack", "weighted-short")
"""Priority rules for the greedy: earliest finish, earliest due date, least slack per unit of
weight, shortest operation per unit of weight."""


def _priority(rule: str, task: Task, job: Job, remaining: int, order: int) -> tuple[float, ...]:
    due = math.inf if job.due is None else float(job.due)
    weight = max(job.weight, 1e-9)
    if rule == "due":
        return (due, task.end, order)
    if rule == "slack":
        return ((due - task.end - remaining) / weight, task.end, order)
    if rule == "weighted-short":
        return ((task.end - task.start) / weight, due, order)
    return (task.end, due, -job.weight, order)


def _greedy_tasks(context: _Context, rule: str = "finish") -> list[Task] | None:
    """Giffler-Thompson list scheduling: find the operation (and machine) that can finish
    first; among the operations that could start on that machine before then, place the one the
    rule prefers. None where an operation no longer fits any working window."""
    problem = context.problem
    frozen = context.frozen_before or 0
    machine_free = dict.fromkeys(context.machines, frozen)
    machine_family: dict[str, str | None] = dict.fromkeys(context.machines)
    next_op = dict.fromkeys(context.jobs, 0)
    job_ready = {job.id: job.release for job in problem.jobs}
    placed: list[Task] = []
    last_pinned: dict[str, Task] = {}
    for task in sorted(context.pinned.values(), key=lambda t: t.end):
        placed.append(task)
        last_pinned[task.machine] = task
        next_op[task.job] = max(next_op[task.job], task.operation + 1)
        job_ready[task.job] = max(job_ready[task.job], task.end)
    for machine_id, task in last_pinned.items():
        machine_free[machine_id] = max(machine_free[machine_id], task.end)
        machine_family[machine_id] = context.jobs[task.job].family
    order = {job.id: position for position, job in enumerate(problem.jobs)}
    left = {
        (job.id, index): sum(min(op.options.values()) for op in job.operations[index + 1 :])
        for job in problem.jobs
        for index in range(len(job.operations))
    }
    total = sum(len(job.operations) for job in problem.jobs)
    while len(placed) < total:
        candidates: list[Task] = []
        for job in problem.jobs:
            index = next_op[job.id]
            if index >= len(job.operations):
                continue
            for machine_id, minutes in job.operations[index].options.items():
                setup = context.setup(machine_family[machine_id], job.family)
                earliest = max(machine_free[machine_id], job_ready[job.id] - setup)
                occupied = _earliest_fit(context.windows[machine_id], earliest, setup + minutes)
                if occupied is not None:
                    start = occupied + setup
                    candidates.append(
                        Task(job.id, index, machine_id, start, start + minutes, setup)
                    )
        if not candidates:
            return None
        first = min(candidates, key=lambda t: (t.end, order[t.job]))
        conflict = [
            t for t in candidates if t.machine == first.machine and t.start - t.setup < first.end
        ]
        task = min(
            conflict,
            key=lambda t: _priority(rule, t, context.jobs[t.job], left[t.key], order[t.job]),
        )
        placed.append(task)
        next_op[task.job] += 1
        job_ready[task.job] = task.end
        machine_free[task.machine] = task.end
        machine_family[task.machine] = context.jobs[task.job].family
    return placed


def _best_greedy(context: _Context) -> list[Task] | None:
    best: tuple[float, list[Task]] | None = None
    for rule in RULES:
        tasks = _greedy_tasks(context, rule)
        if tasks is None:
            continue
        value = _plan(context, tasks, status="feasible", bound=None, elapsed=0.0).objective
        assert value is not None
        if best is None or value < best[0]:
            best = (value, tasks)
    return None if best is None else best[1]


def greedy(
    problem: Problem,
    objective: Objective = Objective(),
    *,
    baseline: ShopPlan | None = None,
    frozen_before: int | None = None,
) -> ShopPlan:
    """A feasible plan fast, without the solver: the fallback when it finds nothing in time.
    Status "feasible", or "unknown" with no tasks when the greedy runs out of working windows."""
    started = time.perf_counter()
    context = _context(problem, objective, baseline, frozen_before)
    tasks = _best_greedy(context)
    elapsed = time.perf_counter() - started
    if tasks is None:
        return _plan(context, [], status="unknown", bound=None, elapsed=elapsed)
    return _plan(context, tasks, status="feasible", bound=None, elapsed=elapsed)


# ---------------------------------------------------------------------------------------------
# CP-SAT


def _scale(objective: Objective, jobs: Sequence[Job]) -> int:
    """The smallest power of ten that makes every objective coefficient whole (else 1000)."""
    coefficients = [objective.makespan, objective.changes]
    coefficients += [objective.lateness * job.weight for job in jobs]
    for scale in (1, 10, 100, 1000, 10000):
        if all(abs(c * scale - round(c * scale)) < 1e-6 for c in coefficients):
            return scale
    return 1000


@dataclass
class _Choice:
    key: OperationKey
    family: str
    minutes: int
    present: cp_model.IntVar
    start: cp_model.IntVar
    end: cp_model.IntVar
    setup: cp_model.IntVar | None = None


def _needs_circuit(context: _Context, families: set[str]) -> bool:
    return any(context.setup(a, b) > 0 for a in families for b in families)


def schedule(
    problem: Problem,
    objective: Objective = Objective(),
    *,
    time_limit_s: float = 10.0,
    workers: int = 2,
    seed: int = 0,
    baseline: ShopPlan | None = None,
    frozen_before: int | None = None,
) -> ShopPlan:
    """The best plan found in the time limit, with the proven bound.

    With `baseline`, every operation that moves (another machine or start) is counted in
    `changed` and costs `objective.changes`. With `frozen_before`, baseline tasks whose machine
    time began before it stay exactly as they were, and nothing else may start (setup included)
    before it.
    """
    started = time.perf_counter()
    context = _context(problem, objective, baseline, frozen_before)
    fallback = _best_greedy(context)
    if not problem.jobs:
        return _plan(context, [], status="optimal", bound=0.0, elapsed=0.0)
    horizon = context.horizon
    # Nothing worse than the greedy plan is worth searching: its objective caps the makespan
    # and each job's lateness, which tightens every domain (and the relaxation with them).
    job_ceiling: dict[str, int] = {}
    if fallback is not None:
        first = _plan(context, fallback, status="feasible", bound=None, elapsed=0.0)
        assert first.objective is not None
        assert first.makespan is not None
        if objective.makespan > 0:
            cap = math.floor(first.objective / objective.makespan + 1e-6)
            horizon = min(horizon, max(cap, first.makespan))
        greedy_ends = first.job_ends()
        for job in problem.jobs:
            if job.due is not None and objective.lateness * job.weight > 0:
                slack = first.objective / (objective.lateness * job.weight)
                cap = job.due + math.floor(slack + 1e-6)
                job_ceiling[job.id] = max(cap, greedy_ends[job.id])
    frozen = frozen_before or 0
    model = cp_model.CpModel()
    starts: dict[OperationKey, cp_model.IntVar] = {}
    ends: dict[OperationKey, cp_model.IntVar] = {}
    presence: dict[tuple[str, int, str], cp_model.IntVar] = {}
    choices: dict[str, list[_Choice]] = {m: [] for m in context.machines}

    for job in problem.jobs:
        for index, op in enumerate(job.operations):
            key = (job.id, index)
            pin = context.pinned.get(key)
            options = dict(op.options)
            if pin is not None:
                options = {pin.machine: pin.end - pin.start}
            shortest, longest = min(options.values()), max(options.values())
            low = job.release if index == 0 else 0
            if pin is None:
                low = max(low, frozen)
            name = f"{job.id}#{index}"
            if pin is not None:
                start = model.new_int_var(pin.start, pin.start, f"s[{name}]")
                end = model.new_int_var(pin.end, pin.end, f"e[{name}]")
            else:
                start = model.new_int_var(low, horizon - shortest, f"s[{name}]")
                end = model.new_int_var(low + shortest, horizon, f"e[{name}]")
            starts[key], ends[key] = start, end
            if longest == shortest:
                model.add(end == start + shortest)
            else:
                duration = model.new_int_var(shortest, longest, f"d[{name}]")
                model.add(end == start + duration)
            chosen = []
            for machine_id, minutes in options.items():
                present = model.new_bool_var(f"p[{name}@{machine_id}]")
                model.add(end == start + minutes).only_enforce_if(present)
                presence[(job.id, index, machine_id)] = present
                chosen.append(present)
                choices[machine_id].append(_Choice(key, job.family, minutes, present, start, end))
            model.add_exactly_one(chosen)
            if index > 0:
                model.add(start >= ends[(job.id, index - 1)])

    for machine_id, items in choices.items():
        if not items:
            continue
        circuit = _needs_circuit(context, {c.family for c in items})
        intervals = []
        for choice in items:
            if circuit:
                pinned_task = context.pinned.get(choice.key)
                most = context.max_setup_into(choice.family)
                choice.setup = model.new_int_var(0, most, f"su[{choice.key}@{machine_id}]")
                occupied = model.new_int_var(
                    0 if pinned_task else frozen, horizon, f"o[{choice.key}@{machine_id}]"
                )
                model.add(occupied + choice.setup == choice.start).only_enforce_if(choice.present)
                model.add(choice.setup == 0).only_enforce_if(~choice.present)
                intervals.append(
                    model.new_optional_interval_var(
                        occupied,
                        choice.setup + choice.minutes,
                        choice.end,
                        choice.present,
                        f"occ[{choice.key}@{machine_id}]",
                    )
                )
            else:
                intervals.append(
                    model.new_optional_interval_var(
                        choice.start,
                        choice.minutes,
                        choice.end,
                        choice.present,
                        f"i[{choice.key}@{machine_id}]",
                    )
                )
        free = [(a, min(b, horizon)) for a, b in context.windows[machine_id] if a < horizon]
        previous = 0
        for a, b in [*free, (horizon, horizon)]:
            if a > previous:
                intervals.append(model.new_fixed_size_interval_var(previous, a - previous, "off"))
            previous = b
        if len(intervals) > 1:
            model.add_no_overlap(intervals)
        if circuit:
            _add_sequence(model, context, items)

    makespan = model.new_int_var(0, horizon, "makespan")
    terms: list[tuple[int, cp_model.IntVar]] = []
    scale = _scale(objective, problem.jobs)
    for job in problem.jobs:
        last = ends[(job.id, len(job.operations) - 1)]
        model.add(makespan >= last)
        if job.id in job_ceiling:
            model.add(last <= job_ceiling[job.id])
        coefficient = round(objective.lateness * job.weight * scale)
        if job.due is not None and coefficient > 0:
            late = model.new_int_var(0, horizon, f"late[{job.id}]")
            model.add(late >= last - job.due)
            terms.append((coefficient, late))
    if round(objective.makespan * scale) > 0:
        terms.append((round(objective.makespan * scale), makespan))
    change_coefficient = round(objective.changes * scale)
    for key, task in context.baseline.items():
        if key in context.pinned or change_coefficient == 0:
            continue
        moved = model.new_bool_var(f"moved[{key}]")
        stay = presence.get((task.job, task.operation, task.machine))
        if stay is None:
            model.add(moved == 1)
        else:
            model.add(starts[key] == task.start).only_enforce_if(~moved)
            model.add(stay == 1).only_enforce_if(~moved)
        terms.append((change_coefficient, moved))
    if terms:
        model.minimize(sum(c * v for c, v in terms))

    hints = list(context.baseline.values()) if context.baseline else (fallback or [])
    for task in hints:
        model.add_hint(starts[task.key], task.start)
        for machine_id in context.jobs[task.job].operations[task.operation].options:
            variable = presence.get((task.job, task.operation, machine_id))
            if variable is not None:
                model.add_hint(variable, machine_id == task.machine)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit_s, 0.1)
    solver.parameters.num_workers = max(workers, 1)
    solver.parameters.random_seed = seed
    code = solver.solve(model)
    status = STATUS.get(code)
    if status is None:
        raise RuntimeError(f"the shop model is invalid: {model.validate()}")
    elapsed = time.perf_counter() - started
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        bound = None if code == cp_model.INFEASIBLE else solver.best_objective_bound / scale
        if code == cp_model.UNKNOWN and fallback is not None:
            # Out of time before the solver had anything: the greedy plan stands.
            return _plan(context, fallback, status="feasible", bound=bound, elapsed=elapsed)
        return _plan(context, [], status=status, bound=bound, elapsed=elapsed)

    tasks = []
    for machine_id, items in choices.items():
        for choice in items:
            if solver.boolean_value(choice.present):
                setup = 0 if choice.setup is None else solver.value(choice.setup)
                begins, finishes = solver.value(choice.start), solver.value(choice.end)
                job_id, index = choice.key
                tasks.append(Task(job_id, index, machine_id, begins, finishes, setup))
    bound = solver.best_objective_bound / scale if terms else 0.0
    plan = _plan(context, tasks, status=status, bound=bound, elapsed=elapsed)
    if status == "feasible" and fallback is not None:
        other = _plan(context, fallback, status=status, bound=bound, elapsed=elapsed)
        if other.objective is not None and plan.objective is not None:
            if other.objective < plan.objective:
                return other
    return plan


def _add_sequence(model: cp_model.CpModel, context: _Context, items: list[_Choice]) -> None:
    """Order the machine's operations in a circuit and charge each direct predecessor's setup."""
    arcs: list[tuple[int, int, cp_model.LiteralT]] = []
    empty = model.new_bool_var("empty")
    arcs.append((0, 0, empty))
    for i, before in enumerate(items, 1):
        assert before.setup is not None
        first = model.new_bool_var("first")
        model.add(before.setup == 0).only_enforce_if(first)
        arcs.extend([(0, i, first), (i, 0, model.new_bool_var("last")), (i, i, ~before.present)])
        for j, after in enumerate(items, 1):
            if i == j or not _may_precede(context, before.key, after.key):
                continue
            assert after.setup is not None
            follows = model.new_bool_var("follows")
            minutes = context.setup(before.family, after.family)
            model.add(after.start >= before.end + minutes).only_enforce_if(follows)
            model.add(after.setup == minutes).only_enforce_if(follows)
            arcs.append((i, j, follows))
    model.add_circuit(arcs)


def _may_precede(context: _Context, before: OperationKey, after: OperationKey) -> bool:
    if before[0] == after[0] and before[1] > after[1]:
        return False
    # Nothing that may still move comes before what has started.
    return not (after in context.pinned and before not in context.pinned)


# ---------------------------------------------------------------------------------------------
# Rush orders and what-if scenarios


def add_job(problem: Problem, job: Job) -> Problem:
    if any(existing.id == job.id for existing in problem.jobs):
        raise ShopError(f"job {job.id} is already in the problem")
    return replace(problem, jobs=(*problem.jobs, job))


def insert_rush(
    problem: Problem,
    plan: ShopPlan,
    rush: Job,
    *,
    now: int = 0,
    objective: Objective = Objective(changes=10.0),
    time_limit_s: float = 10.0,
    workers: int = 2,
    seed: int = 0,
) -> ShopPlan:
    """Replan `add_job(problem, rush)` from `now` with as little disruption as pays.

    Tasks whose machine time began before `now` stay exactly as they were; everything else may
    move, each move costing `objective.changes` (against minutes of weighted lateness, where the
    rush job's weight makes its lateness dear). Nothing new starts before `now`.
    """
    if not plan.feasible:
        raise ShopError(f"the plan to insert into is {plan.status}, not a plan")
    return schedule(
        add_job(problem, rush),
        objective,
        time_limit_s=time_limit_s,
        workers=workers,
        seed=seed,
        baseline=plan,
        frozen_before=now,
    )


def compare(scenarios: Mapping[str, ShopPlan]) -> dict[str, object]:
    """Scenarios side by side: the headline figures of each, and each job's end and lateness
    in every scenario (None where a scenario lacks the job or has no plan)."""
    rows = []
    job_ids: list[str] = []
    ends = {name: plan.job_ends() for name, plan in scenarios.items()}
    for name, plan in scenarios.items():
        rows.append(
            {
                "name": name,
                "status": plan.status,
                "objective": plan.objective,
                "bound": plan.bound,
                "makespan": plan.makespan,
                "weighted_lateness": plan.weighted_lateness,
                "late_jobs": sorted(j for j, late in plan.lateness.items() if late > 0),
                "changes": len(plan.changed),
                "solve_time_s": round(plan.solve_time_s, 3),
            }
        )
        for job_id in [*plan.lateness, *ends[name]]:
            if job_id not in job_ids:
                job_ids.append(job_id)
    jobs = [
        {
            "id": job_id,
            "end": {name: ends[name].get(job_id) for name in scenarios},
            "lateness": {name: plan.lateness.get(job_id) for name, plan in scenarios.items()},
        }
        for job_id in job_ids
    ]
    best: dict[str, list[str]] = {}
    for metric in ("objective", "makespan", "weighted_lateness"):
        values = {n: getattr(p, metric) for n, p in scenarios.items() if p.feasible}
        if values:
            lowest = min(values.values())
            best[metric] = [n for n, v in values.items() if v == lowest]
    return {"scenarios": rows, "jobs": jobs, "best": best}


# ---------------------------------------------------------------------------------------------
# Independent check


def violations(problem: Problem, plan: ShopPlan) -> list[str]:
    """Every hard rule the plan breaks, checked from the problem alone (no solver): one machine
    option per operation at its duration, precedence, release, machine time (setup included)
    inside one working window, no overlap and the family setup between neighbours on a machine,
    pinned tasks kept and nothing else before `frozen_before`, and the plan's own figures."""
    problems: list[str] = []
    jobs = {job.id: job for job in problem.jobs}
    machines = {machine.id: machine for machine in problem.machines}
    seen: dict[OperationKey, Task] = {}
    for task in plan.tasks:
        job = jobs.get(task.job)
        if job is None or not 0 <= task.operation < len(job.operations):
            problems.append(f"job {task.job} operation {task.operation} is not in the problem")
            continue
        if task.key in seen:
            problems.append(f"job {task.job} operation {task.operation} is scheduled twice")
            continue
        seen[task.key] = task
    if not plan.feasible:
        return problems
    for job in problem.jobs:
        for index, op in enumerate(job.operations):
            found = seen.get((job.id, index))
            label = f"job {job.id} operation {index}"
            if found is None:
                problems.append(f"{label} is not scheduled")
                continue
            if found.machine not in op.options:
                problems.append(f"{label} runs on {found.machine}, not one of its options")
            elif found.end - found.start != op.options[found.machine]:
                problems.append(
                    f"{label} lasts {found.end - found.start} min on {found.machine}, "
                    f"not {op.options[found.machine]}"
                )
            if index == 0 and found.start < job.release:
                problems.append(f"{label} starts at {found.start}, before release {job.release}")
            previous = seen.get((job.id, index - 1))
            if previous is not None and found.start < previous.end:
                problems.append(
                    f"{label} starts at {found.start}, before operation {index - 1} ends "
                    f"at {previous.end}"
                )
            if found.start - found.setup < 0:
                problems.append(f"{label} occupies its machine before the plan start")
            if problem.horizon is not None and found.end > problem.horizon:
                problems.append(f"{label} ends at {found.end}, after the horizon {problem.horizon}")
    by_machine: dict[str, list[Task]] = {}
    for task in seen.values():
        by_machine.setdefault(task.machine, []).append(task)
    for machine_id, items in by_machine.items():
        machine = machines.get(machine_id)
        if machine is None:
            problems.append(f"machine {machine_id} is not in the problem")
            continue
        items.sort(key=lambda t: (t.start, t.end))
        until = max(t.end for t in items) + 1
        windows = working_windows(machine, until)
        family_before: str | None = None
        end_before: int | None = None
        for task in items:
            label = f"job {task.job} operation {task.operation} on {machine_id}"
            family = jobs[task.job].family
            needed = 0 if family_before is None else problem.setups.get((family_before, family), 0)
            if task.setup != needed:
                problems.append(
                    f"{label} reports setup {task.setup} min, the family change needs {needed}"
                )
            occupied = task.start - max(task.setup, needed)
            if end_before is not None and occupied < end_before:
                problems.append(
                    f"{label} at {task.start} (setup {needed}) overlaps the task before, "
                    f"which ends at {end_before}"
                )
            if not any(a <= occupied and task.end <= b for a, b in windows):
                problems.append(
                    f"{label} [{occupied}, {task.end}) is not inside one working window "
                    "(off shift or down)"
                )
            family_before, end_before = family, task.end
    frozen = plan.frozen_before
    pinned_keys = {t.key for t in plan.pinned}
    for task in plan.pinned:
        now = seen.get(task.key)
        if now is None or (now.machine, now.start, now.end) != (task.machine, task.start, task.end):
            problems.append(f"job {task.job} operation {task.operation} had started and was moved")
    if frozen is not None:
        for task in seen.values():
            if task.key not in pinned_keys and task.start - task.setup < frozen:
                problems.append(
                    f"job {task.job} operation {task.operation} starts (setup included) at "
                    f"{task.start - task.setup}, before {frozen}"
                )
    if len(seen) == len(plan.tasks) and seen:
        ends: dict[str, int] = {}
        for task in seen.values():
            ends[task.job] = max(task.end, ends.get(task.job, task.end))
        if plan.makespan != max(ends.values()):
            problems.append(
                f"plan says makespan {plan.makespan}, its tasks end at {max(ends.values())}"
            )
        for job in problem.jobs:
            if job.id in ends and job.due is not None:
                late = max(0, ends[job.id] - job.due)
                if plan.lateness.get(job.id) != late:
                    problems.append(
                        f"plan says job {job.id} is {plan.lateness.get(job.id)} min late, "
                        f"it is {late}"
                    )
    return problems
