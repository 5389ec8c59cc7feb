"""Job shop and flexible job shop: CP-SAT beside a tabu search.

The model is the textbook one: an interval per operation (an optional interval per machine it
may run on, exactly one present), no overlap per machine, job precedence, makespan minimised.
CP-SAT alone stalls far from the best-known makespans on shops of 20 jobs and more within
seconds, so `solve` runs a portfolio:

- a start from dispatching rules (earliest completion, and active schedules built by Giffler
  and Thompson's rule with earliest start or most work remaining first), the best of them; its
  makespan is the horizon (tighter domains for every variable), and it is the answer when
  nothing better is found in time;
- a tabu search on the critical path (`tabu`, compiled with numba: block moves, and in a
  flexible shop moves of a critical operation to another machine) in the calling thread, while
  CP-SAT (the other workers) solves the whole model from the same start as a hint; every
  better schedule either side finds goes to the other at once (CP-SAT's through a solution
  callback, taken over by the search between its slices of a few milliseconds);
- half-way, CP-SAT restarts with the best schedule so far as its hint (on small shops it proves
  optimality, which stops the search);
- on shops of `SEARCH_ONLY_FROM` operations and more every worker runs a tabu search (their
  seeds apart, trading their best) and CP-SAT none;
- the makespan is bounded below by the longest job and the machine loads, and by CP-SAT's
  bound, so the proven bound and the gap are honest from the first second.

`enhanced=False` builds the textbook model, which the benchmark solves beside it as the
reference (no start, no hint, no search).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from solvers.scheduling import tabu
from solvers.scheduling.instances import Instance

STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "invalid",
    cp_model.UNKNOWN: "unknown",
}


SEARCH_ONLY_FROM = 400
"""From this many operations on, every worker runs a tabu search and CP-SAT none: in seconds it
finds nothing better there, and its bound is hardly above the trivial one."""


@dataclass(frozen=True)
class Assignment:
    job: int
    operation: int
    machine: int
    start: int
    end: int


@dataclass(frozen=True)
class ShopSchedule:
    instance: str
    status: str
    makespan: int | None
    lower_bound: int
    solve_time_s: float
    assignments: tuple[Assignment, ...]

    @property
    def gap(self) -> float | None:
        if self.makespan is None or self.makespan == 0:
            return None
        return (self.makespan - self.lower_bound) / self.makespan

    def as_json(self) -> dict[str, object]:
        return {
            "instance": self.instance,
            "status": self.status,
            "makespan": self.makespan,
            "lower_bound": self.lower_bound,
            "gap": None if self.gap is None else round(self.gap, 4),
            "solve_time_s": round(self.solve_time_s, 3),
            "schedule": [
                {
                    "job": a.job,
                    "operation": a.operation,
                    "machine": a.machine,
                    "start": a.start,
                    "end": a.end,
                }
                for a in self.assignments
            ],
        }


def greedy(instance: Instance) -> list[Assignment]:
    """A feasible schedule fast: repeatedly place the ready operation (and machine) that can
    finish earliest; among equals, the job with the most work left goes first."""
    next_op = [0] * len(instance.jobs)
    job_free = [0] * len(instance.jobs)
    machine_free = [0] * instance.machines
    remaining = [sum(min(d for _, d in op.alternatives) for op in job) for job in instance.jobs]
    placed: list[Assignment] = []
    total = instance.operations
    while len(placed) < total:
        best: tuple[int, int, int, int, int] | None = None
        for job, operations in enumerate(instance.jobs):
            index = next_op[job]
            if index >= len(operations):
                continue
            for machine, duration in operations[index].alternatives:
                start = max(job_free[job], machine_free[machine])
                key = (start + duration, -remaining[job], job, machine, start)
                if best is None or key < best:
                    best = key
        assert best is not None
        end, _, job, machine, start = best
        index = next_op[job]
        placed.append(Assignment(job, index, machine, start, end))
        remaining[job] -= min(d for _, d in instance.jobs[job][index].alternatives)
        next_op[job] += 1
        job_free[job] = end
        machine_free[machine] = end
    return placed


def active_schedule(instance: Instance, rule: str) -> list[Assignment]:
    """Giffler and Thompson's active schedule: take the operation (and machine) that could end
    first, and among the operations that could start on that machine before then, place the one
    the rule picks: `"est"` the earliest start (most work left breaks ties), `"mwkr"` the most
    work left."""
    jobs = instance.jobs
    next_op = [0] * len(jobs)
    job_free = [0] * len(jobs)
    machine_free = [0] * instance.machines
    shortest = [[min(d for _, d in op.alternatives) for op in job] for job in jobs]
    remaining = [sum(row) for row in shortest]
    placed: list[Assignment] = []
    while len(placed) < instance.operations:
        ready = []
        first_end = first_machine = -1
        for job, operations in enumerate(jobs):
            index = next_op[job]
            if index >= len(operations):
                continue
            for machine, duration in operations[index].alternatives:
                start = max(job_free[job], machine_free[machine])
                ready.append((job, machine, start, duration))
                if first_end < 0 or start + duration < first_end:
                    first_end, first_machine = start + duration, machine
        # The operation that ends first always takes part (it may last no time at all).
        conflict = [
            r
            for r in ready
            if r[1] == first_machine and (r[2] < first_end or r[2] + r[3] == first_end)
        ]
        if rule == "est":
            job, machine, start, duration = min(conflict, key=lambda r: (r[2], -remaining[r[0]]))
        else:
            job, machine, start, duration = min(conflict, key=lambda r: (-remaining[r[0]], r[2]))
        index = next_op[job]
        placed.append(Assignment(job, index, machine, start, start + duration))
        remaining[job] -= shortest[job][index]
        next_op[job] += 1
        job_free[job] = machine_free[machine] = start + duration
    return placed


def dispatch(instance: Instance) -> list[Assignment]:
    """The best of the dispatching rules' schedules (the first on a tie)."""
    plans = [greedy(instance), active_schedule(instance, "est"), active_schedule(instance, "mwkr")]
    return min(plans, key=_makespan)


def _makespan(assignments: list[Assignment] | tuple[Assignment, ...]) -> int:
    return max((a.end for a in assignments), default=0)


@dataclass
class _Model:
    model: cp_model.CpModel
    starts: dict[tuple[int, int], cp_model.IntVar]
    ends: dict[tuple[int, int], cp_model.IntVar]
    presence: dict[tuple[int, int, int], cp_model.IntVar]
    makespan: cp_model.IntVar

    def hint(self, instance: Instance, assignments: list[Assignment]) -> None:
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        for a in assignments:
            self.model.add_hint(self.starts[(a.job, a.operation)], a.start)
            self.model.add_hint(self.ends[(a.job, a.operation)], a.end)
            alternatives = instance.jobs[a.job][a.operation].alternatives
            if len(alternatives) > 1:
                for machine, _ in alternatives:
                    variable = self.presence[(a.job, a.operation, machine)]
                    self.model.add_hint(variable, 1 if machine == a.machine else 0)
        self.model.add_hint(self.makespan, _makespan(assignments))

    def read(self, instance: Instance, solver: cp_model.CpSolver) -> list[Assignment]:
        assignments = []
        for j, job in enumerate(instance.jobs):
            for o, op in enumerate(job):
                machine = next(
                    m for m, _ in op.alternatives if solver.value(self.presence[(j, o, m)]) == 1
                )
                start, end = solver.value(self.starts[(j, o)]), solver.value(self.ends[(j, o)])
                assignments.append(Assignment(j, o, machine, start, end))
        return assignments


def _build(instance: Instance, horizon: int, lower: int) -> _Model:
    model = cp_model.CpModel()
    starts: dict[tuple[int, int], cp_model.IntVar] = {}
    ends: dict[tuple[int, int], cp_model.IntVar] = {}
    presence: dict[tuple[int, int, int], cp_model.IntVar] = {}
    per_machine: list[list[cp_model.IntervalVar]] = [[] for _ in range(instance.machines)]
    for j, job in enumerate(instance.jobs):
        for o, op in enumerate(job):
            shortest = min(d for _, d in op.alternatives)
            longest = max(d for _, d in op.alternatives)
            start = model.new_int_var(0, horizon - shortest, f"s{j}_{o}")
            end = model.new_int_var(shortest, horizon, f"e{j}_{o}")
            starts[(j, o)], ends[(j, o)] = start, end
            if len(op.alternatives) == 1:
                machine, duration = op.alternatives[0]
                per_machine[machine].append(
                    model.new_interval_var(start, duration, end, f"i{j}_{o}")
                )
                presence[(j, o, machine)] = model.new_constant(1)
                continue
            duration_var = model.new_int_var(shortest, longest, f"d{j}_{o}")
            model.add(end == start + duration_var)
            chosen = []
            for machine, duration in op.alternatives:
                present = model.new_bool_var(f"p{j}_{o}_{machine}")
                per_machine[machine].append(
                    model.new_optional_interval_var(
                        start, duration, end, present, f"i{j}_{o}_{machine}"
                    )
                )
                model.add(duration_var == duration).only_enforce_if(present)
                presence[(j, o, machine)] = present
                chosen.append(present)
            model.add_exactly_one(chosen)
        for o in range(1, len(job)):
            model.add(starts[(j, o)] >= ends[(j, o - 1)])
    for intervals in per_machine:
        if len(intervals) > 1:
            model.add_no_overlap(intervals)
    makespan = model.new_int_var(lower, horizon, "makespan")
    for j, job in enumerate(instance.jobs):
        if job:
            model.add(makespan >= ends[(j, len(job) - 1)])
    model.minimize(makespan)
    return _Model(model, starts, ends, presence, makespan)


class _Portfolio:
    """The best schedule and bound found so far by either side, shared between the threads."""

    def __init__(self, instance: Instance, start: list[Assignment], lower: int) -> None:
        self.instance = instance
        self.lock = threading.Lock()
        self.best = start
        self.bound = lower
        self.version = 0
        """Counts the improvements, so that each side sees when the other found one."""
        self.proven = threading.Event()
        if _makespan(start) <= lower:
            self.proven.set()

    def offer(self, assignments: list[Assignment], bound: int = 0) -> None:
        with self.lock:
            if _makespan(assignments) < _makespan(self.best):
                self.best = assignments
                self.version += 1
            self.bound = max(self.bound, bound)
            if _makespan(self.best) <= self.bound:
                self.proven.set()

    def sequences(self) -> list[list[tuple[int, int]]]:
        with self.lock:
            best = self.best
        sequences: list[list[tuple[int, int]]] = [[] for _ in range(self.instance.machines)]
        for a in sorted(best, key=lambda a: (a.start, a.end)):
            sequences[a.machine].append((a.job, a.operation))
        return sequences

    def _assignments(self, sequences: list[list[tuple[int, int]]]) -> list[Assignment]:
        starts = tabu.starts(self.instance, sequences)
        assignments = []
        for machine, sequence in enumerate(sequences):
            for j, o in sequence:
                begin = starts[(j, o)]
                duration = dict(self.instance.jobs[j][o].alternatives)[machine]
                assignments.append(Assignment(j, o, machine, begin, begin + duration))
        assignments.sort(key=lambda a: (a.job, a.operation))
        return assignments

    def search(self, deadline: float, seed: int) -> None:
        """Tabu search from the best so far until `deadline` or a proof of optimality, in slices
        of a few milliseconds: after each, an improvement goes to the portfolio, and a better
        schedule found meanwhile by CP-SAT is taken over (it joins the search's elite)."""
        if self.proven.is_set() or time.perf_counter() >= deadline:
            return
        state = tabu.Search(self.instance, self.sequences(), seed=seed)
        steps = state.slice_steps()
        offered, seen = state.best, self.version
        while not self.proven.is_set() and time.perf_counter() < deadline:
            state.run(steps)
            if state.best < offered:
                offered = state.best
                self.offer(self._assignments(state.best_sequences()))
                seen = self.version
            if self.version != seen:
                seen = self.version
                with self.lock:
                    theirs = _makespan(self.best)
                if theirs < state.best:
                    state.adopt(self.sequences())
                    offered = state.best

    def solve(self, model: _Model, deadline: float, workers: int, seed: int, hint: bool) -> str:
        """CP-SAT on the whole model (from the best so far as its hint) until `deadline`; every
        schedule it finds that beats the portfolio's goes there at once. Its status."""
        left = deadline - time.perf_counter()
        if self.proven.is_set() or left <= 0.05:
            return "unknown"
        with self.lock:
            best = self.best
        if hint:
            model.hint(self.instance, best)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = left
        solver.parameters.num_workers = workers
        solver.parameters.random_seed = seed
        code = solver.solve(model.model, _Found(self, model))
        bound = int(solver.best_objective_bound) if code != cp_model.INFEASIBLE else 0
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.offer(model.read(self.instance, solver), bound)
        else:
            self.offer(best, bound)
        if code == cp_model.OPTIMAL:
            self.proven.set()
        return STATUS.get(code, "unknown")


class _Found(cp_model.CpSolverSolutionCallback):
    """Hands each schedule CP-SAT finds to the portfolio where it beats the best so far."""

    def __init__(self, portfolio: _Portfolio, model: _Model) -> None:
        super().__init__()
        self.portfolio = portfolio
        self.model = model

    def on_solution_callback(self) -> None:
        with self.portfolio.lock:
            best = _makespan(self.portfolio.best)
        if self.objective_value >= best:
            return
        instance, model = self.portfolio.instance, self.model
        assignments = []
        for j, job in enumerate(instance.jobs):
            for o, op in enumerate(job):
                machine = next(
                    m for m, _ in op.alternatives if self.value(model.presence[(j, o, m)]) == 1
                )
                start, end = self.value(model.starts[(j, o)]), self.value(model.ends[(j, o)])
                assignments.append(Assignment(j, o, machine, start, end))
        self.portfolio.offer(assignments)


def solve(
    instance: Instance,
    *,
    time_limit_s: float = 10.0,
    workers: int = 2,
    enhanced: bool = True,
    hints: bool = True,
    seed: int = 0,
) -> ShopSchedule:
    """The best schedule found within `time_limit_s` on `workers` threads (one runs the tabu
    search, the others CP-SAT); `hints=False` starts CP-SAT without the best schedule so far."""
    started = time.perf_counter()
    if instance.operations == 0:
        return ShopSchedule(instance.name, "optimal", 0, 0, 0.0, ())
    lower = instance.trivial_lower_bound()
    if not enhanced:
        return _textbook(instance, time_limit_s, workers, seed, started)
    deadline = started + max(time_limit_s, 0.1)
    start = dispatch(instance)
    portfolio = _Portfolio(instance, start, lower)
    halfway = started + (deadline - started) / 2
    if workers > 1 and instance.operations >= SEARCH_ONLY_FROM:
        # Every worker a tabu search (seeds apart), trading their best through the portfolio.
        others = [
            threading.Thread(
                target=portfolio.search, args=(deadline, seed + 1 + k), name=f"tabu {k + 1}"
            )
            for k in range(workers - 1)
        ]
        for thread in others:
            thread.start()
        try:
            portfolio.search(deadline, seed)
        finally:
            for thread in others:
                thread.join()
    elif workers > 1:
        model = _build(instance, _makespan(start), lower)

        # CP-SAT in a thread (it releases the interpreter while it solves), the compiled search
        # (which releases it too) here; half-way CP-SAT restarts from the best so far.
        def cp_sat() -> None:
            portfolio.solve(model, halfway, workers - 1, seed, hints)
            portfolio.solve(model, deadline, workers - 1, seed + 1, hints)

        thread = threading.Thread(target=cp_sat, name=f"cp-sat {instance.name}")
        thread.start()
        try:
            portfolio.search(deadline, seed)
        finally:
            thread.join()
    else:
        model = _build(instance, _makespan(start), lower)
        portfolio.search(halfway, seed)
        portfolio.solve(model, deadline, 1, seed, hints)
    best = portfolio.best
    assert not violations(instance, tuple(best)), "an invalid schedule"
    makespan = _makespan(best)
    status = "optimal" if makespan <= portfolio.bound else "feasible"
    return ShopSchedule(
        instance.name,
        status,
        makespan,
        min(portfolio.bound, makespan),
        time.perf_counter() - started,
        tuple(sorted(best, key=lambda a: (a.job, a.operation))),
    )


def _textbook(
    instance: Instance, time_limit_s: float, workers: int, seed: int, started: float
) -> ShopSchedule:
    """The textbook model alone: no start, no hint, no search, the horizon the sum of the
    longest durations."""
    horizon = sum(max(d for _, d in op.alternatives) for job in instance.jobs for op in job)
    model = _build(instance, horizon, 0)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit_s, 0.1)
    solver.parameters.num_workers = max(workers, 1)
    solver.parameters.random_seed = seed
    code = solver.solve(model.model)
    elapsed = time.perf_counter() - started
    status = STATUS.get(code, "unknown")
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return ShopSchedule(instance.name, status, None, 0, elapsed, ())
    bound = max(instance.trivial_lower_bound(), int(solver.best_objective_bound))
    return ShopSchedule(
        instance.name,
        status,
        int(solver.objective_value),
        bound,
        elapsed,
        tuple(model.read(instance, solver)),
    )


def violations(instance: Instance, assignments: tuple[Assignment, ...]) -> list[str]:
    """Everything wrong with a schedule, checked without the solver (for tests and callers)."""
    problems = []
    seen: dict[tuple[int, int], Assignment] = {}
    for given in assignments:
        key = (given.job, given.operation)
        if key in seen:
            problems.append(f"job {given.job} operation {given.operation} is scheduled twice")
        elif given.job >= len(instance.jobs) or given.operation >= len(instance.jobs[given.job]):
            problems.append(f"job {given.job} operation {given.operation} does not exist")
        seen[key] = given
    for j, job in enumerate(instance.jobs):
        for o, op in enumerate(job):
            found = seen.get((j, o))
            if found is None:
                problems.append(f"job {j} operation {o} is not scheduled")
                continue
            a = found
            durations = dict(op.alternatives)
            if a.machine not in durations:
                problems.append(f"job {j} operation {o} on machine {a.machine}, not allowed")
            elif a.end - a.start != durations[a.machine]:
                problems.append(f"job {j} operation {o} lasts {a.end - a.start}")
            if a.start < 0:
                problems.append(f"job {j} operation {o} starts before 0")
            if o > 0 and (j, o - 1) in seen and a.start < seen[(j, o - 1)].end:
                problems.append(f"job {j} operation {o} starts before operation {o - 1} ends")
    by_machine: dict[int, list[Assignment]] = {}
    for a in assignments:
        by_machine.setdefault(a.machine, []).append(a)
    for machine, items in by_machine.items():
        items.sort(key=lambda a: (a.start, a.end))
        for first, second in zip(items, items[1:], strict=False):
            if second.start < first.end:
                problems.append(f"machine {machine}: operations overlap at {second.start}")
    return problems
