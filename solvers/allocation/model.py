"""Cloud-factory allocation: an order's processes spread over small factories, day by day.

A linear model solved with OR-Tools MathOpt and HiGHS. Units of each process made by each
eligible factory on each day are continuous; whether a factory takes part in a process is binary.

Hard: capacity (a factory's hours are shared by the processes it takes on each day), eligibility
(equipment and skills), precedence with yield and transport lag (a process can only have made
what its predecessors delivered, `lag` days earlier), and no factory above its share of a
process (`max_share`, at most 1/`min_factories`, so a process made in full has that many
makers). Soft, priced and reported: the daily target (shortfall), the order quantity by the last
day (missing), single-failure resilience (losing any one factory must not drop a process's
daily capacity below the daily target), and concentration (units a maker makes beyond an even
share of the process).

Size is kept down the way the issue suggests: the LP relaxation is solved first, and the MIP only
keeps, per process, the factories the LP used plus the cheapest others up to `candidates`.

Time: a process with `lag_days = 0` may work on the same day as its predecessors (the model's
precedence is on cumulative output by the end of each day), so a step costs no day of its own;
only transport lags delay the next step. That is why an order is refused as too soon only when
the longest chain of lags leaves no day for the last step (`DUE_DATE_TOO_SOON`).

A re-plan (`replan`) keeps the days before `today` as they were made and prices every unit it
moves away from the previous plan, so a disruption changes what it must and little else.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

from ortools.math_opt.python import mathopt

from yunfab.errors import YunfabError

Key = tuple[str, str, int]
"""(step, factory, day)."""

Engine = Literal["auto", "mip", "columns"]
"""How a plan is solved. "mip": the LP relaxation of the whole model picks candidate factories
and the MIP solves on them (built one MathOpt object at a time). "columns": the model built from
arrays on a restricted set of factories that LP duals price in, with the bound proven on the
whole model (`solvers.allocation.columns`, for province-sized orders). "auto": "columns" when the
model has more than `COLUMNS_ABOVE` (step, factory, day) cells."""

COLUMNS_ABOVE = 50_000
"""Seed 002's order has about 9,000 cells, a province's (1,000 factories, 30 processes, 60 days)
600,000: object-by-object building alone takes minutes there."""


class AllocationError(YunfabError, ValueError):
    """The order cannot be planned; `code` says which constraint makes it so, the message names
    it (the step, the chain, the factories) and `extra` carries the same as data."""

    code: ClassVar[str] = "ALLOCATION_FAILED"
    status_code: ClassVar[int] = 422


class InvalidOrder(AllocationError):
    """Non-positive quantity, no days, a negative daily target or ramp."""

    code = "INVALID_ORDER"


class InvalidRouting(AllocationError):
    """Cycles, unknown or repeated steps, non-positive hours, yields outside (0, 1], negative
    lags."""

    code = "INVALID_ROUTING"


class InvalidFactory(AllocationError):
    """A capacity calendar shorter than the order, negative hours or cost, repeated ids."""

    code = "INVALID_FACTORY"


class InvalidProgress(AllocationError):
    """A re-plan's `today` or `done` do not fit the order: days out of range, unknown steps,
    or recorded output that breaks precedence."""

    code = "INVALID_PROGRESS"


class NoEligibleFactory(AllocationError):
    code = "NO_ELIGIBLE_FACTORY"


class DueDateTooSoon(AllocationError):
    code = "DUE_DATE_TOO_SOON"


class NoCapacity(AllocationError):
    """The eligible factories of a step have no hours on any day its work could still reach
    the last step. Less capacity than the order needs is not an error: the plan comes back
    with `missing`, and `explain` names the step and the most that can be made."""

    code = "NO_CAPACITY"


class TimeLimit(AllocationError):
    """The solver found no feasible plan within the time limit (a plan found in time comes
    back with its gap instead)."""

    code = "TIME_LIMIT"
    status_code = 503


class SolverFailed(AllocationError):
    """The solver stopped for a reason the model does not expect (it always has a solution:
    shortfalls are priced, not forbidden)."""

    code = "SOLVER_FAILED"
    status_code = 500


@dataclass(frozen=True)
class Step:
    id: str
    hours_per_unit: float
    equipment: str
    skills: frozenset[str] = frozenset()
    after: tuple[str, ...] = ()
    yield_: float = 1.0
    lag_days: int = 0


@dataclass(frozen=True)
class Factory:
    id: str
    equipment: frozenset[str]
    skills: frozenset[str]
    hours: tuple[float, ...]
    """Hours available per day of the plan."""
    cost_per_hour: float


@dataclass(frozen=True)
class Order:
    quantity: float
    days: int
    daily_target: float
    ramp_days: int = 0


@dataclass(frozen=True)
class Weights:
    shortfall: float = 1000.0
    resilience: float = 50.0
    concentration: float = 0.1
    """Price of concentration: this fraction of a step's mean unit cost on every unit a maker
    makes beyond an even share (the step over twice `min_factories` makers), so the plan spreads
    a step when costs are close; the share cap is the hard limit."""
    max_share: float = 0.4
    min_factories: int = 2
    candidates: int = 8


@dataclass
class Plan:
    status: str
    objective: float
    lp_bound: float
    """The solver's proven lower bound for the model on the candidate factories (its LP
    relaxation strengthened by branching): the plan is within `gap` of it. The relaxation of the
    whole model only picks the candidates, because the resilience terms differ between them."""
    gap: float
    solve_time_s: float
    units: dict[Key, float] = field(default_factory=dict)
    """(step, factory, day) -> units."""
    shortfall: dict[int, float] = field(default_factory=dict)
    """Day -> units of finished product behind the daily target."""
    missing: dict[str, float] = field(default_factory=dict)
    """Final step -> units of the order not made by the last day."""
    weak_points: list[str] = field(default_factory=list)
    """Processes that would fall below the daily target if one named factory failed."""
    candidates: dict[str, list[str]] = field(default_factory=dict)
    """Step -> the factories the MIP chose from (the LP's picks and the cheapest others)."""
    today: int = 0
    """Days before this one are what was made (a re-plan), not decisions of this plan."""


@dataclass
class CapacityLimit:
    """A step whose eligible capacity cannot make what the order needs."""

    step: str
    required_units: float
    max_units: float
    """Its eligible factories' hours in its window, each capped at its share: an upper bound
    (it ignores other steps taking the same hours)."""
    max_quantity: float
    """`max_units` as finished products, through the yields after the step."""
    window: tuple[int, int]


@dataclass
class Diagnosis:
    """What can be said about an order before solving: who can do each step, when, and the
    most the factories could make."""

    needed: dict[str, float]
    """Units each step must make, through the yields after it."""
    eligible: dict[str, list[str]]
    """Step -> factories with the equipment, skills and some hours in the order's days."""
    windows: dict[str, tuple[int, int]]
    """Step -> first and last day it can do useful work: after its inputs can first arrive,
    and early enough for its output to reach the last step by the last day."""
    capacity_limits: list[CapacityLimit]
    max_quantity: float
    """An upper bound on the finished products the factories could make (the order's quantity
    when no step is short)."""

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = json_ready(asdict(self))
        return data


def json_ready(value: Any) -> Any:
    """Plain JSON types: string keys, lists for tuples, None for NaN and infinities."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def share_cap(weights: Weights, eligible_factories: int) -> float:
    """The cap on one factory's share of a step. It also spreads the step over at least
    `min_factories` makers whenever the step is made in full (a cap of 1/n needs n factories),
    without a binary per factory; and it gives way when too few factories can do the step."""
    cap = min(weights.max_share, 1.0 / max(weights.min_factories, 1))
    return max(cap, 1.0 / max(eligible_factories, 1))


def eligible(step: Step, factory: Factory) -> bool:
    return step.equipment in factory.equipment and step.skills <= factory.skills


def _order_steps(steps: Sequence[Step]) -> list[Step]:
    by_id = {s.id: s for s in steps}
    for s in steps:
        for before in s.after:
            if before not in by_id:
                raise InvalidRouting(
                    f"step {s.id} comes after unknown step {before}", step=s.id, unknown=before
                )
    ordered: list[Step] = []
    seen: set[str] = set()

    def visit(step: Step, path: tuple[str, ...]) -> None:
        if step.id in seen:
            return
        if step.id in path:
            cycle = [*path[path.index(step.id) :], step.id]
            raise InvalidRouting(f"steps form a cycle: {' -> '.join(cycle)}", cycle=cycle)
        for before in step.after:
            visit(by_id[before], (*path, step.id))
        seen.add(step.id)
        ordered.append(step)

    for s in steps:
        visit(s, ())
    return ordered


def final_steps(steps: Sequence[Step]) -> list[Step]:
    """Steps no other step comes after: their output is the finished product."""
    return [s for s in steps if not any(s.id in t.after for t in steps)]


def required_units(steps: Sequence[Step], quantity: float) -> dict[str, float]:
    """Units each step must make for `quantity` finished products, through yields."""
    ordered = _order_steps(steps)
    needed = {s.id: 0.0 for s in ordered}
    successors = {s.id: [t for t in ordered if s.id in t.after] for s in ordered}
    for s in reversed(ordered):
        if not successors[s.id]:
            needed[s.id] = quantity / s.yield_
        else:
            needed[s.id] = max(needed[t.id] for t in successors[s.id]) / s.yield_
    return needed


def daily_target(order: Order, day: int) -> float:
    """Finished products due by the end of `day` (cumulative), after the ramp."""
    return min(order.quantity, order.daily_target * max(0, day + 1 - order.ramp_days))


def finished_output(steps: Sequence[Step], order: Order, units: Mapping[Key, float]) -> list[float]:
    """Finished products made by the end of each day (cumulative): the least of the final
    steps' good output."""
    finals = final_steps(steps)
    made: dict[str, list[float]] = {s.id: [0.0] * order.days for s in finals}
    for (sid, _, day), value in units.items():
        if sid in made and 0 <= day < order.days:
            made[sid][day] += value
    out = [math.inf] * order.days
    for s in finals:
        total = 0.0
        for day in range(order.days):
            total += made[s.id][day]
            out[day] = min(out[day], s.yield_ * total)
    return [0.0 if math.isinf(v) else v for v in out]


def target_misses(
    steps: Sequence[Step], order: Order, units: Mapping[Key, float], *, tolerance: float = 1e-4
) -> dict[int, float]:
    """Day -> finished products behind the (cumulative) daily target, the last day included
    (where the target is the order's quantity)."""
    finished = finished_output(steps, order, units)
    misses: dict[int, float] = {}
    for day in range(order.days):
        target = daily_target(order, day)
        if target > 0 and finished[day] < target * (1 - tolerance):
            misses[day] = target - finished[day]
    return misses


# --- Checks before solving ---------------------------------------------------------------------


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _check_order(order: Order) -> None:
    if not _finite(order.quantity) or order.quantity <= 0:
        raise InvalidOrder(
            f"the order needs a positive quantity, not {order.quantity}", field="quantity"
        )
    if not isinstance(order.days, int) or order.days < 1:
        raise InvalidOrder(f"the order needs at least one day, not {order.days}", field="days")
    if not _finite(order.daily_target) or order.daily_target < 0:
        raise InvalidOrder(
            f"the daily target must be zero or more, not {order.daily_target}",
            field="daily_target",
        )
    if not isinstance(order.ramp_days, int) or order.ramp_days < 0:
        raise InvalidOrder(
            f"ramp days must be zero or more, not {order.ramp_days}", field="ramp_days"
        )


def _check_routing(steps: Sequence[Step]) -> list[Step]:
    if not steps:
        raise InvalidRouting("the routing has no steps")
    seen: set[str] = set()
    for s in steps:
        if s.id in seen:
            raise InvalidRouting(f"step {s.id} given twice", step=s.id)
        seen.add(s.id)
        if not _finite(s.hours_per_unit) or s.hours_per_unit <= 0:
            raise InvalidRouting(f"step {s.id}: hours per unit must be positive", step=s.id)
        if not _finite(s.yield_) or not 0 < s.yield_ <= 1:
            raise InvalidRouting(f"step {s.id}: yield must be in (0, 1]", step=s.id)
        if not isinstance(s.lag_days, int) or s.lag_days < 0:
            raise InvalidRouting(f"step {s.id}: lag days must be zero or more", step=s.id)
    return _order_steps(steps)


def _check_factories(factories: Sequence[Factory], order: Order) -> None:
    seen: set[str] = set()
    for f in factories:
        if f.id in seen:
            raise InvalidFactory(f"factory {f.id} given twice", factory=f.id)
        seen.add(f.id)
        if len(f.hours) < order.days:
            raise InvalidFactory(
                f"factory {f.id}: capacity calendar shorter than the order", factory=f.id
            )
        if any(not _finite(h) or h < 0 for h in f.hours[: order.days]):
            raise InvalidFactory(f"factory {f.id}: hours must be zero or more", factory=f.id)
        if not _finite(f.cost_per_hour) or f.cost_per_hour < 0:
            raise InvalidFactory(
                f"factory {f.id}: cost per hour must be zero or more", factory=f.id
            )


def _validate(steps: Sequence[Step], factories: Sequence[Factory], order: Order) -> list[Step]:
    """The checks on the input's own shape (INVALID_*), in topological order of the steps."""
    _check_order(order)
    ordered = _check_routing(steps)
    _check_factories(factories, order)
    return ordered


def _longest_lag_chain(ordered: list[Step]) -> dict[str, tuple[int, list[str]]]:
    """Step -> (the earliest day it can make anything from lags alone, the chain that sets it).
    A step's own lag counts only when it has inputs: it is the transport from them."""
    best: dict[str, tuple[int, list[str]]] = {}
    for s in ordered:
        day, chain = 0, [s.id]
        for before in s.after:
            lag, path = best[before]
            if lag + s.lag_days > day or len(chain) == 1:
                day, chain = lag + s.lag_days, [*path, s.id]
        best[s.id] = (day, chain)
    return best


def _windows(
    ordered: list[Step], options: Mapping[str, Sequence[Factory]], order: Order
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """(ready, first, last) day per step, with the factories' calendars: `ready` is when its
    inputs can first arrive, `first` the first day from then on that some eligible factory has
    hours, `last` the last day with hours from which its output can still reach the last step
    in time. `order.days` for `first` (and -1 for `last`) means no such day."""
    never = order.days

    def has_hours(sid: str, day: int) -> bool:
        return any(f.hours[day] > 0 for f in options[sid])

    ready: dict[str, int] = {}
    first: dict[str, int] = {}
    for s in ordered:
        ready[s.id] = max((first[b] + s.lag_days for b in s.after), default=0)
        first[s.id] = next(
            (d for d in range(min(ready[s.id], never), never) if has_hours(s.id, d)), never
        )
    last: dict[str, int] = {}
    for s in reversed(ordered):
        successors = [t for t in ordered if s.id in t.after]
        due = min((last[t.id] - t.lag_days for t in successors), default=order.days - 1)
        last[s.id] = next((d for d in range(min(due, never - 1), -1, -1) if has_hours(s.id, d)), -1)
    return ready, first, last


def diagnose(
    steps: Sequence[Step],
    factories: Sequence[Factory],
    order: Order,
    weights: Weights = Weights(),
) -> Diagnosis:
    """Refuse an order that cannot be planned at all, naming the constraint that makes it so,
    and bound what can be made. Raises, in this order: INVALID_ORDER, INVALID_ROUTING,
    INVALID_FACTORY (the input's shape); NO_ELIGIBLE_FACTORY (a step nobody has the equipment
    and skills for); DUE_DATE_TOO_SOON (the longest chain of transport lags ends after the last
    day); NO_CAPACITY (a step's eligible factories have no hours between the day its inputs can
    first arrive and the last day its output is still of use). A step with less capacity than
    the order needs is reported in `capacity_limits`, not raised: part of the order can still be
    made."""
    ordered = _validate(steps, factories, order)
    capable: dict[str, list[Factory]] = {}
    for s in ordered:
        capable[s.id] = [f for f in factories if eligible(s, f)]
        if not capable[s.id]:
            raise NoEligibleFactory(
                f"no factory can do step {s.id}: it needs {s.equipment}"
                + (f" and skills {', '.join(sorted(s.skills))}" if s.skills else ""),
                step=s.id,
                equipment=s.equipment,
                skills=sorted(s.skills),
            )
    lags = _longest_lag_chain(ordered)
    for s in final_steps(ordered):
        lag, chain = lags[s.id]
        if lag >= order.days:
            raise DueDateTooSoon(
                f"routing {' -> '.join(chain)} carries {lag} days of transport lag, so {s.id}"
                f" can make nothing before day {lag + 1} of the plan; the order has"
                f" {order.days} days",
                chain=chain,
                lag_days=lag,
                days=order.days,
            )
    ready, first, last = _windows(ordered, capable, order)
    for s in ordered:
        # The earliest-start pass is exact for "can any of it be made": the first step in
        # routing order with no day left is the one that stops the order.
        if first[s.id] < order.days:
            continue
        names = ", ".join(f.id for f in capable[s.id])
        if ready[s.id] >= order.days:
            where = (
                f"its inputs cannot arrive before day {ready[s.id] + 1} (their factories' first"
                f" hours plus transport lag), after the order's {order.days} days"
            )
        elif ready[s.id] > 0:
            where = (
                f"its eligible factories ({names}) have no hours from day {ready[s.id] + 1},"
                f" when its inputs can first arrive, to the order's last day ({order.days})"
            )
        else:
            where = (
                f"its eligible factories ({names}) have no hours in the order's {order.days} days"
            )
        raise NoCapacity(
            f"step {s.id}: {where}",
            step=s.id,
            factories=[f.id for f in capable[s.id]],
            first_day=ready[s.id],
        )
    options = {s.id: [f for f in capable[s.id] if any(f.hours[: order.days])] for s in ordered}
    windows, limits, best = capacity_bounds(ordered, factories, order, weights)
    return Diagnosis(
        needed=required_units(ordered, order.quantity),
        eligible={sid: [f.id for f in fs] for sid, fs in options.items()},
        windows=windows,
        capacity_limits=limits,
        max_quantity=best,
    )


def capacity_bounds(
    steps: Sequence[Step],
    factories: Sequence[Factory],
    order: Order,
    weights: Weights,
    *,
    today: int = 0,
    made_before: Mapping[Key, float] | None = None,
) -> tuple[dict[str, tuple[int, int]], list[CapacityLimit], float]:
    """Per step its window (first and last useful day; first > last when there is none), the
    steps whose eligible capacity cannot make what the order needs, and an upper bound on the
    finished products. A factory's part is its hours in the window from `today`, at most its
    share cap; `made_before` (units before `today`) counts as made and against the caps."""
    ordered = _order_steps(steps)
    needed = required_units(ordered, order.quantity)
    options = {
        s.id: [f for f in factories if eligible(s, f) and any(f.hours[: order.days])]
        for s in ordered
    }
    _, first, last = _windows(ordered, options, order)
    past_step: dict[str, float] = {}
    past_factory: dict[tuple[str, str], float] = {}
    for (sid, fid, day), units in (made_before or {}).items():
        if day < today:
            past_step[sid] = past_step.get(sid, 0.0) + units
            past_factory[(sid, fid)] = past_factory.get((sid, fid), 0.0) + units
    limits: list[CapacityLimit] = []
    best = order.quantity
    for s in ordered:
        cap = share_cap(weights, len(options[s.id])) * needed[s.id]
        window = range(max(first[s.id], today), last[s.id] + 1)
        most = past_step.get(s.id, 0.0) + sum(
            min(
                max(0.0, cap - past_factory.get((s.id, f.id), 0.0)),
                sum(f.hours[d] for d in window) / s.hours_per_unit,
            )
            for f in options[s.id]
        )
        if most < needed[s.id] * (1 - 1e-9):
            quantity = most * order.quantity / needed[s.id]
            best = min(best, quantity)
            limits.append(
                CapacityLimit(s.id, needed[s.id], most, quantity, (first[s.id], last[s.id]))
            )
    return {s.id: (first[s.id], last[s.id]) for s in ordered}, limits, best


# --- The model ---------------------------------------------------------------------------------


@dataclass
class _Problem:
    ordered: list[Step]
    order: Order
    weights: Weights
    needed: dict[str, float]
    caps: dict[str, float]
    """Step -> the most units one factory may make of it."""
    today: int = 0
    fixed: dict[Key, float] = field(default_factory=dict)
    """Units made before `today`: constants, not decisions."""
    previous: dict[Key, float] = field(default_factory=dict)
    """The previous plan from `today` on: every unit away from it costs `change_weight`."""
    change_weight: float = 0.0
    credit: dict[tuple[str, str], float] = field(default_factory=dict)
    """(step, predecessor) -> the lead the past gives the step (`precedence_credit`)."""


@dataclass
class _Solved:
    optimal: bool
    objective: float
    bound: float
    units: dict[Key, float]
    behind: dict[int, float]
    missing: dict[str, float]
    weak: list[str]


def plan(
    steps: Sequence[Step],
    factories: Sequence[Factory],
    order: Order,
    weights: Weights = Weights(),
    *,
    time_limit_s: float = 30.0,
    engine: Engine = "auto",
) -> Plan:
    """Plan the order; raises `AllocationError` (see `diagnose`, and TIME_LIMIT when no
    feasible plan is found in time). `engine`: see `Engine`."""
    started = time.perf_counter()
    diagnosis = diagnose(steps, factories, order, weights)
    ordered = _order_steps(steps)
    by_id = {f.id: f for f in factories}
    options = {sid: [by_id[fid] for fid in fids] for sid, fids in diagnosis.eligible.items()}
    problem = _Problem(
        ordered=ordered,
        order=order,
        weights=weights,
        needed=diagnosis.needed,
        caps={
            s.id: share_cap(weights, len(options[s.id])) * diagnosis.needed[s.id] for s in ordered
        },
    )
    return _optimise(
        problem, options, {}, started=started, time_limit_s=time_limit_s, engine=engine
    )


def _optimise(
    problem: _Problem,
    options: dict[str, list[Factory]],
    keep: Mapping[str, set[str]],
    *,
    started: float,
    time_limit_s: float,
    engine: Engine = "auto",
    start: Mapping[str, list[str]] | None = None,
) -> Plan:
    """LP relaxation, then the MIP on the factories the LP used, those in `keep`, and the
    cheapest others up to `candidates`; or, for a large model, the priced restricted LP of
    `columns`."""
    if engine not in ("auto", "mip", "columns"):
        raise ValueError(f"unknown engine {engine!r}")
    cells = sum(
        sum(1 for h in f.hours[problem.today : problem.order.days] if h > 0)
        for fs in options.values()
        for f in fs
    )
    if engine == "columns" or (engine == "auto" and cells > COLUMNS_ABOVE):
        from solvers.allocation import columns

        return columns.optimise(
            problem, options, keep, started=started, time_limit_s=time_limit_s, start=start
        )
    lp = _solve(problem, options, integral=False, time_limit_s=time_limit_s, phase="LP relaxation")
    weights = problem.weights
    narrowed: dict[str, list[Factory]] = {}
    for s in problem.ordered:
        used = {f for (step, f, _), v in lp.units.items() if step == s.id and v > 1e-6}
        used |= keep.get(s.id, set())
        rest = sorted((f for f in options[s.id] if f.id not in used), key=lambda f: f.cost_per_hour)
        size = max(weights.candidates, weights.min_factories + 1)
        chosen = [f for f in options[s.id] if f.id in used]
        chosen += rest[: max(0, size - len(chosen))]
        narrowed[s.id] = chosen
    elapsed = time.perf_counter() - started
    remaining = max(time_limit_s - elapsed, min(1.0, time_limit_s))
    mip = _solve(problem, narrowed, integral=True, time_limit_s=remaining, phase="MIP")
    order = problem.order
    shortfall: dict[int, float] = {}
    if problem.today:
        finished = finished_output(problem.ordered, order, problem.fixed)
        for d in range(min(problem.today, order.days)):
            target = daily_target(order, d)
            if target <= 0 or (d == order.days - 1 and target >= order.quantity):
                continue
            if target - finished[d] > 1e-6:
                shortfall[d] = target - finished[d]
    shortfall.update(mip.behind)
    units = {k: v for k, v in problem.fixed.items() if v > 1e-6}
    units.update(mip.units)
    return Plan(
        status="optimal" if mip.optimal else "feasible",
        objective=mip.objective,
        lp_bound=mip.bound,
        gap=(mip.objective - mip.bound) / max(abs(mip.objective), 1e-9),
        solve_time_s=time.perf_counter() - started,
        units=units,
        shortfall=shortfall,
        missing=mip.missing,
        weak_points=mip.weak,
        candidates={sid: [f.id for f in fs] for sid, fs in narrowed.items()},
        today=problem.today,
    )


def _solve(
    problem: _Problem,
    options: dict[str, list[Factory]],
    *,
    integral: bool,
    time_limit_s: float,
    phase: str,
) -> _Solved:
    ordered, order, weights, needed = (
        problem.ordered,
        problem.order,
        problem.weights,
        problem.needed,
    )
    today = problem.today
    model = mathopt.Model(name="allocation")
    days = range(order.days)
    future = range(today, order.days)
    by_id = {s.id: s for s in ordered}
    x: dict[Key, mathopt.Variable] = {}
    y: dict[tuple[str, str], mathopt.Variable] = {}
    per_step_day: dict[tuple[str, int], list[mathopt.Variable]] = {}
    per_step_factory: dict[tuple[str, str], list[mathopt.Variable]] = {}
    per_factory_day: dict[tuple[str, int], list[tuple[float, mathopt.Variable]]] = {}
    cost = mathopt.LinearExpression()
    for s in ordered:
        for f in options[s.id]:
            use = model.add_variable(lb=0, ub=1, is_integer=integral)
            y[(s.id, f.id)] = use
            unit_cost = f.cost_per_hour * s.hours_per_unit
            for d in future:
                if f.hours[d] <= 0:
                    continue
                most = f.hours[d] / s.hours_per_unit
                var = model.add_variable(lb=0, ub=most)
                x[(s.id, f.id, d)] = var
                model.add_linear_constraint(var <= most * use)
                per_step_day.setdefault((s.id, d), []).append(var)
                per_step_factory.setdefault((s.id, f.id), []).append(var)
                per_factory_day.setdefault((f.id, d), []).append((s.hours_per_unit, var))
                cost += unit_cost * var
    # Capacity: a factory's hours on a day are shared by every step it takes on.
    hours = {f.id: f.hours for fs in options.values() for f in fs}
    for (fid, d), load in per_factory_day.items():
        if len(load) > 1:
            model.add_linear_constraint(
                mathopt.fast_sum(h * var for h, var in load) <= hours[fid][d]
            )
    # What was made before today, per step and day and per step and factory.
    fixed_day: dict[tuple[str, int], float] = {}
    fixed_factory: dict[tuple[str, str], float] = {}
    for (sid, fid, d), value in problem.fixed.items():
        fixed_day[(sid, d)] = fixed_day.get((sid, d), 0.0) + value
        fixed_factory[(sid, fid)] = fixed_factory.get((sid, fid), 0.0) + value
    # Cumulative output per step and day: constants before today, variables from then on.
    made: dict[tuple[str, int], mathopt.Variable | float] = {}
    for s in ordered:
        for d in days:
            previous = made[(s.id, d - 1)] if d > 0 else 0.0
            if d < today:
                made[(s.id, d)] = previous + fixed_day.get((s.id, d), 0.0)
                continue
            cumulative = model.add_variable(lb=0)
            model.add_linear_constraint(
                cumulative == previous + mathopt.fast_sum(per_step_day.get((s.id, d), []))
            )
            made[(s.id, d)] = cumulative
    # Precedence: what a step has made by day d needs its predecessors' good output by d - lag
    # (plus any lead what was made before today gives it; what was made is checked by `replan`).
    for s in ordered:
        for before in s.after:
            q = by_id[before]
            lead = problem.credit.get((s.id, before), 0.0)
            for d in future:
                if d - s.lag_days < 0:
                    model.add_linear_constraint(made[(s.id, d)] <= lead)
                else:
                    model.add_linear_constraint(
                        made[(s.id, d)] <= q.yield_ * made[(before, d - s.lag_days)] + lead
                    )
    finals = final_steps(ordered)
    # The order's quantity by the last day (shortfall priced, not forbidden). Only finished
    # goods are priced: precedence makes every upstream step keep pace with them.
    missing: dict[str, mathopt.Variable] = {}
    for s in finals:
        missing[s.id] = model.add_variable(lb=0)
        model.add_linear_constraint(made[(s.id, order.days - 1)] + missing[s.id] >= needed[s.id])
    for s in ordered:
        for f in options[s.id]:
            share = per_step_factory.get((s.id, f.id), [])
            if share:
                room = max(0.0, problem.caps[s.id] - fixed_factory.get((s.id, f.id), 0.0))
                model.add_linear_constraint(mathopt.fast_sum(share) <= room)
            else:
                model.add_linear_constraint(y[(s.id, f.id)] <= 0)
    # Daily target on finished goods, with a ramp (the last day's is the quantity itself,
    # already priced as missing).
    behind: dict[int, mathopt.Variable] = {}
    for d in future:
        target = daily_target(order, d)
        if target <= 0 or (d == order.days - 1 and target >= order.quantity):
            continue
        behind[d] = model.add_variable(lb=0)
        for s in finals:
            model.add_linear_constraint(s.yield_ * made[(s.id, d)] + behind[d] >= target)
    # Resilience: the other factories of a step must cover the daily target without one of them,
    # with the hours left from today.
    weak: dict[tuple[str, str], mathopt.Variable] = {}
    span = max(order.days - today, 1)
    for s in ordered:
        # What the step must make a day for the daily target, through every yield after it.
        daily_need = order.daily_target * needed[s.id] / order.quantity
        capacity = {
            f.id: sum(f.hours[today : order.days]) / span / s.hours_per_unit for f in options[s.id]
        }
        everyone = mathopt.fast_sum(capacity[f.id] * y[(s.id, f.id)] for f in options[s.id])
        for f in options[s.id]:
            slack = model.add_variable(lb=0)
            weak[(s.id, f.id)] = slack
            # Without f: all used capacity less f's own must still reach the daily need.
            model.add_linear_constraint(
                everyone - capacity[f.id] * y[(s.id, f.id)] + slack >= daily_need
            )
    # Change from the previous plan, |x - previous| per (step, factory, day): with x >= 0 it is
    # x - previous + 2 * max(0, previous - x), one nonnegative variable per planned cell. Cells
    # that lost their variable (no hours now, or the factory gone) count in full, as a constant.
    change = mathopt.LinearExpression()
    if problem.change_weight > 0:
        for key, var in x.items():
            before_units = problem.previous.get(key, 0.0)
            if before_units > 1e-9:
                under = model.add_variable(lb=0)
                model.add_linear_constraint(under >= before_units - var)
                change += var - before_units + 2 * under
            else:
                change += var
        change += sum(v for k, v in problem.previous.items() if k not in x)
    # Concentration: what a maker makes beyond an even share of the step (the step spread over
    # twice the minimum number of makers, or all eligible ones if fewer), priced per unit.
    concentration = mathopt.LinearExpression()
    if weights.concentration > 0:
        for s in ordered:
            makers = [f for f in options[s.id] if per_step_factory.get((s.id, f.id))]
            if len(makers) < 2:
                continue
            even = needed[s.id] / min(len(makers), 2 * max(weights.min_factories, 1))
            mean_cost = sum(f.cost_per_hour for f in makers) / len(makers) * s.hours_per_unit
            for f in makers:
                excess = model.add_variable(lb=0)
                model.add_linear_constraint(
                    excess
                    >= mathopt.fast_sum(per_step_factory[(s.id, f.id)])
                    + fixed_factory.get((s.id, f.id), 0.0)
                    - even
                )
                concentration += weights.concentration * mean_cost * excess
    objective = (
        cost
        + weights.shortfall
        * (mathopt.fast_sum(behind.values()) + mathopt.fast_sum(missing.values()))
        + weights.resilience * mathopt.fast_sum(weak.values())
        + concentration
        + problem.change_weight * change
    )
    model.minimize(objective)
    params = mathopt.SolveParameters(
        time_limit=dt.timedelta(seconds=max(time_limit_s, 0.0)), relative_gap_tolerance=0.01
    )
    result = mathopt.solve(model, mathopt.SolverType.HIGHS, params=params)
    reason = result.termination.reason
    if reason not in (mathopt.TerminationReason.OPTIMAL, mathopt.TerminationReason.FEASIBLE):
        if result.termination.limit == mathopt.Limit.TIME or (
            reason == mathopt.TerminationReason.NO_SOLUTION_FOUND
        ):
            raise TimeLimit(
                f"no feasible plan found within the time limit ({time_limit_s:.3g} s for the"
                f" {phase}); allow more time or fewer candidate factories",
                phase=phase,
                time_limit_s=time_limit_s,
            )
        raise SolverFailed(
            f"the solver stopped on the {phase}: {reason.name} {result.termination.detail}",
            phase=phase,
        )
    values = result.variable_values()
    return _Solved(
        optimal=reason == mathopt.TerminationReason.OPTIMAL,
        objective=result.objective_value(),
        bound=result.termination.objective_bounds.dual_bound,
        units={key: values[var] for key, var in x.items() if values[var] > 1e-6},
        behind={d: values[v] for d, v in behind.items() if values[v] > 1e-6},
        missing={sid: values[v] for sid, v in missing.items() if values[v] > 1e-6},
        weak=[f"{sid} without {fid}" for (sid, fid), v in weak.items() if values[v] > 1e-6],
    )


# --- Re-planning -------------------------------------------------------------------------------


@dataclass
class AssignmentChange:
    """Units of one step that a factory gained or lost from `today` on."""

    step: str
    factory: str
    added: float
    removed: float


@dataclass
class ReplanEffect:
    today: int
    output_before: list[float]
    """Finished products made each day (not cumulative) under the previous plan."""
    output_after: list[float]
    missed_days: dict[int, float]
    """Day -> finished products behind the cumulative daily target under the new plan (the
    last day's target is the order's quantity)."""
    missed_days_before: dict[int, float]
    """The same under the previous plan."""
    newly_missed: dict[int, float]
    """Days the target is missed now but was not before -> by how much."""
    changes: list[AssignmentChange]
    units_moved: float
    """Sum of |new - previous| over (step, factory, day) from `today` on: a unit taken from
    one factory-day and given to another counts twice, once removed and once added."""
    units_added: float
    units_removed: float

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = json_ready(asdict(self))
        return data


@dataclass
class Replan:
    plan: Plan
    effect: ReplanEffect

    def as_json(self) -> dict[str, Any]:
        """The effect, with the new plan's standing (status, objective, bound, gap)."""
        return {
            **self.effect.as_json(),
            "status": self.plan.status,
            "objective": json_ready(self.plan.objective),
            "bound": json_ready(self.plan.lp_bound),
            "gap": json_ready(self.plan.gap),
            "solve_time_s": self.plan.solve_time_s,
        }


def _default_change_weight(
    ordered: Sequence[Step], options: Mapping[str, Sequence[Factory]]
) -> float:
    """The dearest unit cost of any eligible (step, factory): a unit moved costs more than any
    saving it could make, so only the target, the quantity or resilience move work."""
    costs = [f.cost_per_hour * s.hours_per_unit for s in ordered for f in options[s.id]]
    return max(costs, default=1.0) or 1.0


def replan(
    steps: Sequence[Step],
    factories: Sequence[Factory],
    order: Order,
    weights: Weights,
    previous: Plan,
    *,
    today: int,
    done: Mapping[Key, float] | None = None,
    change_weight: float | None = None,
    time_limit_s: float = 30.0,
    engine: Engine = "auto",
) -> Replan:
    """Plan again from `today` after a disruption. `factories` carry the changed capacity (a
    broken factory's hours set to 0 for its repair, or the factory left out). Days before
    `today` are fixed at `done` (what was made; default: the previous plan's units for those
    days) and count towards precedence, shares and the order. From `today` on the usual
    objective is minimised plus `change_weight` per unit moved away from `previous` (default:
    the dearest unit cost of any eligible pair, so no unit moves only to save cost).

    What was made may have run ahead of the planned yield (it keeps that lead, see
    `precedence_credit`) but not ahead of what its predecessors made: that is refused as
    INVALID_PROGRESS, as are days, steps or factories `done` cannot mean. The order is not
    refused for capacity or due date here: it was accepted, and what the disruption costs is
    reported (`missing`, `effect`) rather than raised. The new plan's objective and bound cover
    the days from `today` and include the price of change."""
    started = time.perf_counter()
    ordered = _validate(steps, factories, order)
    if not isinstance(today, int) or not 0 <= today < order.days:
        raise InvalidProgress(
            f"today must be a day of the order (0 to {order.days - 1}), not {today}", today=today
        )
    fixed = _check_done(
        ordered,
        factories,
        order,
        previous,
        today,
        done if done is not None else {k: v for k, v in previous.units.items() if k[2] < today},
    )
    options = {
        s.id: [f for f in factories if eligible(s, f) and any(f.hours[today : order.days])]
        for s in ordered
    }
    counted = {
        s.id: sum(1 for f in factories if eligible(s, f) and any(f.hours[: order.days]))
        for s in ordered
    }
    needed = required_units(ordered, order.quantity)
    prior = {k: v for k, v in previous.units.items() if k[2] >= today and v > 1e-9}
    weight = (
        change_weight if change_weight is not None else _default_change_weight(ordered, options)
    )
    problem = _Problem(
        ordered=ordered,
        order=order,
        weights=weights,
        needed=needed,
        caps={s.id: share_cap(weights, counted[s.id]) * needed[s.id] for s in ordered},
        today=today,
        fixed=fixed,
        previous=prior,
        change_weight=weight,
        credit=precedence_credit(ordered, fixed, today),
    )
    keep: dict[str, set[str]] = {}
    for sid, fid, _ in prior:
        keep.setdefault(sid, set()).add(fid)
    for sid in keep:
        keep[sid] &= {f.id for f in options[sid]}
    new = _optimise(
        problem,
        options,
        keep,
        started=started,
        time_limit_s=time_limit_s,
        engine=engine,
        start=previous.candidates,
    )
    return Replan(plan=new, effect=replan_effect(ordered, order, previous, new, today=today))


def _check_done(
    ordered: list[Step],
    factories: Sequence[Factory],
    order: Order,
    previous: Plan,
    today: int,
    done: Mapping[Key, float],
) -> dict[Key, float]:
    by_step = {s.id: s for s in ordered}
    known = {f.id for f in factories} | {fid for _, fid, _ in previous.units}
    fixed: dict[Key, float] = {}
    for (sid, fid, day), units in done.items():
        where = f"done[{sid}, {fid}, {day}]"
        if sid not in by_step:
            raise InvalidProgress(f"{where}: unknown step {sid}", step=sid)
        if fid not in known:
            raise InvalidProgress(f"{where}: unknown factory {fid}", factory=fid)
        if not isinstance(day, int) or not 0 <= day < today:
            raise InvalidProgress(f"{where}: what was made is for days before today ({today})")
        if not _finite(units) or units < 0:
            raise InvalidProgress(f"{where}: units must be zero or more")
        if units > 0:
            fixed[(sid, fid, day)] = fixed.get((sid, fid, day), 0.0) + units
    breach = _past_breach(ordered, fixed, today)
    if breach:
        step, before, day, made, supplied = breach
        lag = by_step[step].lag_days
        raise InvalidProgress(
            f"done: {step} made {made:.6g} by day {day + 1}, "
            + (
                f"more than the {supplied:.6g} {before} had made by day {day - lag + 1}"
                if day >= lag
                else f"before anything from {before} could arrive ({lag} days of lag)"
            ),
            step=step,
            before=before,
            day=day,
        )
    return fixed


def _cumulative(units: Mapping[Key, float], days: int) -> dict[str, list[float]]:
    """Step -> units made by the end of each of the first `days` days."""
    daily: dict[str, list[float]] = {}
    for (sid, _, day), value in units.items():
        if 0 <= day < days:
            daily.setdefault(sid, [0.0] * days)[day] += value
    out: dict[str, list[float]] = {}
    for sid, values in daily.items():
        total, out[sid] = 0.0, []
        for value in values:
            total += value
            out[sid].append(total)
    return out


def _past_breach(
    steps: Sequence[Step], units: Mapping[Key, float], today: int, *, tolerance: float = 1e-4
) -> tuple[str, str, int, float, float] | None:
    """The first (step, predecessor, day, made, supplied) before `today` where a step made more
    than its predecessor had made at all, yield aside: no yield explains that."""
    made = _cumulative(units, today)
    zero = [0.0] * today
    for s in steps:
        for before in s.after:
            for day in range(today):
                done = made.get(s.id, zero)[day]
                supplied = made.get(before, zero)[day - s.lag_days] if day >= s.lag_days else 0.0
                if done > supplied * (1 + tolerance) + tolerance:
                    return s.id, before, day, done, supplied
    return None


def precedence_credit(
    steps: Sequence[Step], units: Mapping[Key, float], today: int
) -> dict[tuple[str, str], float]:
    """(step, predecessor) -> how far what was made before `today` ran ahead of the
    predecessor's good output at its planned yield. Real yields vary: a step may have used
    more than the planned yield promised (up to all its predecessor made). A re-plan lets it
    keep that lead, and from `today` on it runs no further ahead."""
    by_step = {s.id: s for s in steps}
    made = _cumulative(units, today)
    zero = [0.0] * today
    credit: dict[tuple[str, str], float] = {}
    for s in steps:
        for before in s.after:
            q = by_step[before]
            lead = 0.0
            for day in range(today):
                supplied = made.get(before, zero)[day - s.lag_days] if day >= s.lag_days else 0.0
                lead = max(lead, made.get(s.id, zero)[day] - q.yield_ * supplied)
            if lead > 1e-9:
                credit[(s.id, before)] = lead
    return credit


def replan_effect(
    steps: Sequence[Step], order: Order, previous: Plan, new: Plan, *, today: int
) -> ReplanEffect:
    """What a re-plan changes: output per day, target days, and who gained or lost work."""

    def daily(cumulative: list[float]) -> list[float]:
        return [c - (cumulative[d - 1] if d else 0.0) for d, c in enumerate(cumulative)]

    before = target_misses(steps, order, previous.units)
    after = target_misses(steps, order, new.units)
    cells: dict[tuple[str, str], list[float]] = {}
    keys = {k for k in previous.units if k[2] >= today} | {k for k in new.units if k[2] >= today}
    for key in keys:
        difference = new.units.get(key, 0.0) - previous.units.get(key, 0.0)
        cell = cells.setdefault((key[0], key[1]), [0.0, 0.0])
        cell[0 if difference > 0 else 1] += abs(difference)
    changes = [
        AssignmentChange(sid, fid, added, removed)
        for (sid, fid), (added, removed) in sorted(cells.items())
        if added + removed > 1e-6 * max(1.0, order.quantity)
    ]
    added = sum(c[0] for c in cells.values())
    removed = sum(c[1] for c in cells.values())
    return ReplanEffect(
        today=today,
        output_before=daily(finished_output(steps, order, previous.units)),
        output_after=daily(finished_output(steps, order, new.units)),
        missed_days=after,
        missed_days_before=before,
        newly_missed={d: v for d, v in after.items() if d not in before},
        changes=changes,
        units_moved=added + removed,
        units_added=added,
        units_removed=removed,
    )


# --- Independent check -------------------------------------------------------------------------


def hard_violations(
    steps: Sequence[Step],
    factories: Sequence[Factory],
    order: Order,
    weights: Weights,
    result: Plan,
    *,
    tolerance: float = 1e-4,
) -> list[str]:
    """The plan's breaches of the hard constraints, checked without the solver. Units before
    `result.today` are what was made: they count towards precedence and shares over the whole
    horizon, but are not held to today's calendars or factory list (a factory may since have
    broken down or left), and before today a step may have run ahead of its predecessor's
    planned yield, not of what it made (see `precedence_credit`)."""
    by_step = {s.id: s for s in steps}
    by_factory = {f.id: f for f in factories}
    problems: list[str] = []
    load: dict[tuple[str, int], float] = {}
    made: dict[tuple[str, int], float] = {}
    share: dict[tuple[str, str], float] = {}
    for (sid, fid, day), units in result.units.items():
        step = by_step[sid]
        made[(sid, day)] = made.get((sid, day), 0.0) + units
        share[(sid, fid)] = share.get((sid, fid), 0.0) + units
        if day < result.today:
            continue
        factory = by_factory.get(fid)
        if factory is None:
            problems.append(f"{fid} is not a known factory but makes {sid} on day {day}")
            continue
        if not eligible(step, factory):
            problems.append(f"{fid} is not eligible for {sid}")
        load[(fid, day)] = load.get((fid, day), 0.0) + units * step.hours_per_unit
    for (fid, day), hours in load.items():
        if hours > by_factory[fid].hours[day] * (1 + tolerance) + tolerance:
            problems.append(
                f"{fid} works {hours:.2f} h on day {day}, has {by_factory[fid].hours[day]}"
            )
    needed = required_units(steps, order.quantity)
    credit = precedence_credit(steps, result.units, result.today)
    for (sid, fid), units in share.items():
        if fid not in by_factory:
            continue
        options = sum(
            1 for f in factories if eligible(by_step[sid], f) and any(f.hours[: order.days])
        )
        if units > share_cap(weights, options) * needed[sid] * (1 + tolerance) + tolerance:
            problems.append(f"{fid} makes {units:.0f} of {sid}, over its share cap")
    for s in steps:
        users = {fid for (sid, fid) in share if sid == s.id}
        eligible_count = sum(1 for f in factories if eligible(s, f) and any(f.hours[: order.days]))
        total = sum(u for (sid, _), u in share.items() if sid == s.id)
        made_in_full = total >= needed[s.id] * (1 - tolerance)
        if made_in_full and len(users) < min(weights.min_factories, eligible_count):
            problems.append(f"{s.id} is made by {len(users)} factories")
        for before in s.after:
            q = by_step[before]
            lead = credit.get((s.id, before), 0.0)
            cumulative = sum(made.get((s.id, e), 0.0) for e in range(result.today))
            for day in range(result.today, order.days):
                cumulative += made.get((s.id, day), 0.0)
                supplied = sum(made.get((before, e), 0.0) for e in range(0, day - s.lag_days + 1))
                if cumulative > q.yield_ * supplied * (1 + tolerance) + tolerance + lead:
                    problems.append(f"{s.id} ahead of {before} on day {day}")
                    break
    breach = _past_breach(steps, result.units, result.today, tolerance=tolerance)
    if breach:
        problems.append(f"{breach[0]} made more than {breach[1]} by day {breach[2]}")
    return problems
