"""Cloud-factory allocation: an order's processes spread over small factories, day by day.

A linear model solved with OR-Tools MathOpt and HiGHS. Units of each process made by each
eligible factory on each day are continuous; whether a factory takes part in a process is binary.

Hard: capacity (a factory's hours are shared by the processes it takes on each day), eligibility
(equipment and skills), precedence with yield and transport lag (a process can only have made
what its predecessors delivered, `lag` days earlier), and no factory above its share of a
process (`max_share`, at most 1/`min_factories`, so a process made in full has that many
makers). Soft, priced and reported: the daily target (shortfall), the order quantity by the last
day (missing), and single-failure resilience (losing any one factory must not drop a process's
daily capacity below the daily target).

Size is kept down the way the issue suggests: the LP relaxation is solved first, and the MIP only
keeps, per process, the factories the LP used plus the cheapest others up to `candidates`.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ortools.math_opt.python import mathopt


class AllocationError(ValueError):
    """The order cannot be planned at all; the message names the constraint that makes it so."""


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
    units: dict[tuple[str, str, int], float] = field(default_factory=dict)
    """(step, factory, day) -> units."""
    shortfall: dict[int, float] = field(default_factory=dict)
    """Day -> units of finished product behind the daily target."""
    missing: dict[str, float] = field(default_factory=dict)
    """Final step -> units of the order not made by the last day."""
    weak_points: list[str] = field(default_factory=list)
    """Processes that would fall below the daily target if one named factory failed."""


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
                raise AllocationError(f"step {s.id} comes after unknown step {before}")
    ordered: list[Step] = []
    seen: set[str] = set()

    def visit(step: Step, path: tuple[str, ...]) -> None:
        if step.id in seen:
            return
        if step.id in path:
            raise AllocationError(f"steps form a cycle: {' -> '.join((*path, step.id))}")
        for before in step.after:
            visit(by_id[before], (*path, step.id))
        seen.add(step.id)
        ordered.append(step)

    for s in steps:
        visit(s, ())
    return ordered


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


def plan(
    steps: Sequence[Step],
    factories: Sequence[Factory],
    order: Order,
    weights: Weights = Weights(),
    *,
    time_limit_s: float = 30.0,
) -> Plan:
    started = time.perf_counter()
    ordered = _order_steps(steps)
    if order.days < 1 or order.quantity <= 0:
        raise AllocationError("the order needs a positive quantity and at least one day")
    for f in factories:
        if len(f.hours) < order.days:
            raise AllocationError(f"factory {f.id}: capacity calendar shorter than the order")
    for s in ordered:
        if s.hours_per_unit <= 0:
            raise AllocationError(f"step {s.id}: hours per unit must be positive")
        if not 0 < s.yield_ <= 1:
            raise AllocationError(f"step {s.id}: yield must be in (0, 1]")
    options: dict[str, list[Factory]] = {}
    for s in ordered:
        options[s.id] = [f for f in factories if eligible(s, f) and any(f.hours[: order.days])]
        if not options[s.id]:
            raise AllocationError(
                f"no factory can do step {s.id}: it needs {s.equipment}"
                + (f" and skills {', '.join(sorted(s.skills))}" if s.skills else "")
            )
    needed = required_units(ordered, order.quantity)
    lp = _solve(ordered, options, order, weights, needed, integral=False, time_limit_s=time_limit_s)
    if not isinstance(lp, tuple):
        raise AllocationError("the LP relaxation has no solution (check capacities and lags)")
    _, lp_units = lp
    # The MIP keeps, per step, what the LP used and the cheapest others.
    narrowed: dict[str, list[Factory]] = {}
    for s in ordered:
        used = {f for (step, f, _), v in lp_units.items() if step == s.id and v > 1e-6}
        rest = sorted((f for f in options[s.id] if f.id not in used), key=lambda f: f.cost_per_hour)
        keep = max(weights.candidates, weights.min_factories + 1)
        chosen = [f for f in options[s.id] if f.id in used]
        chosen += rest[: max(0, keep - len(chosen))]
        narrowed[s.id] = chosen
    remaining = max(time_limit_s - (time.perf_counter() - started), 1.0)
    mip = _solve(
        ordered, narrowed, order, weights, needed, integral=True, time_limit_s=remaining,
        detail=True,
    )  # fmt: skip
    if not isinstance(mip, Plan):
        raise AllocationError("no plan found within the time limit")
    result = mip
    result.gap = (result.objective - result.lp_bound) / max(abs(result.objective), 1e-9)
    result.solve_time_s = time.perf_counter() - started
    return result


def _solve(
    ordered: list[Step],
    options: dict[str, list[Factory]],
    order: Order,
    weights: Weights,
    needed: dict[str, float],
    *,
    integral: bool,
    time_limit_s: float,
    detail: bool = False,
) -> tuple[float, dict[tuple[str, str, int], float]] | Plan | None:
    model = mathopt.Model(name="allocation")
    days = range(order.days)
    by_id = {s.id: s for s in ordered}
    x: dict[tuple[str, str, int], mathopt.Variable] = {}
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
            for d in days:
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
    # Cumulative output per step and day, as variables: precedence and targets refer to them.
    made: dict[tuple[str, int], mathopt.Variable] = {}
    for s in ordered:
        for d in days:
            cumulative = model.add_variable(lb=0)
            today = mathopt.fast_sum(per_step_day.get((s.id, d), []))
            previous = made[(s.id, d - 1)] if d > 0 else 0.0
            model.add_linear_constraint(cumulative == previous + today)
            made[(s.id, d)] = cumulative
    # Precedence: what a step has made by day d needs its predecessors' good output by d - lag.
    for s in ordered:
        for before in s.after:
            q = by_id[before]
            for d in days:
                if d - s.lag_days < 0:
                    model.add_linear_constraint(made[(s.id, d)] <= 0)
                else:
                    model.add_linear_constraint(
                        made[(s.id, d)] <= q.yield_ * made[(before, d - s.lag_days)]
                    )
    finals = [s for s in ordered if not any(s.id in t.after for t in ordered)]
    # The order's quantity by the last day (shortfall priced, not forbidden). Only finished
    # goods are priced: precedence makes every upstream step keep pace with them.
    missing: dict[str, mathopt.Variable] = {}
    for s in finals:
        missing[s.id] = model.add_variable(lb=0)
        model.add_linear_constraint(made[(s.id, order.days - 1)] + missing[s.id] >= needed[s.id])
    for s in ordered:
        cap = share_cap(weights, len(options[s.id]))
        for f in options[s.id]:
            share = per_step_factory.get((s.id, f.id), [])
            if share:
                model.add_linear_constraint(mathopt.fast_sum(share) <= cap * needed[s.id])
            else:
                model.add_linear_constraint(y[(s.id, f.id)] <= 0)
    # Daily target on finished goods, with a ramp (the last day's is the quantity itself,
    # already priced as missing).
    behind: dict[int, mathopt.Variable] = {}
    for d in days:
        target = min(order.quantity, order.daily_target * max(0, d + 1 - order.ramp_days))
        if target <= 0 or (d == order.days - 1 and target >= order.quantity):
            continue
        behind[d] = model.add_variable(lb=0)
        for s in finals:
            model.add_linear_constraint(s.yield_ * made[(s.id, d)] + behind[d] >= target)
    # Resilience: the other factories of a step must cover the daily target without one of them.
    weak: dict[tuple[str, str], mathopt.Variable] = {}
    for s in ordered:
        # What the step must make a day for the daily target, through every yield after it.
        daily_need = order.daily_target * needed[s.id] / order.quantity
        capacity = {
            f.id: sum(f.hours[: order.days]) / order.days / s.hours_per_unit for f in options[s.id]
        }
        everyone = mathopt.fast_sum(capacity[f.id] * y[(s.id, f.id)] for f in options[s.id])
        for f in options[s.id]:
            slack = model.add_variable(lb=0)
            weak[(s.id, f.id)] = slack
            # Without f: all used capacity less f's own must still reach the daily need.
            model.add_linear_constraint(
                everyone - capacity[f.id] * y[(s.id, f.id)] + slack >= daily_need
            )
    objective = (
        cost
        + weights.shortfall
        * (mathopt.fast_sum(behind.values()) + mathopt.fast_sum(missing.values()))
        + weights.resilience * mathopt.fast_sum(weak.values())
    )
    model.minimize(objective)
    params = mathopt.SolveParameters(
        time_limit=dt.timedelta(seconds=time_limit_s), relative_gap_tolerance=0.01
    )
    result = mathopt.solve(model, mathopt.SolverType.HIGHS, params=params)
    if result.termination.reason not in (
        mathopt.TerminationReason.OPTIMAL,
        mathopt.TerminationReason.FEASIBLE,
    ):
        return None
    values = result.variable_values()
    units = {key: values[var] for key, var in x.items() if values[var] > 1e-6}
    if not detail:
        return result.objective_value(), units
    status = (
        "optimal" if result.termination.reason == mathopt.TerminationReason.OPTIMAL else "feasible"
    )
    return Plan(
        status=status,
        objective=result.objective_value(),
        lp_bound=result.termination.objective_bounds.dual_bound,
        gap=math.nan,
        solve_time_s=0.0,
        units=units,
        shortfall={d: values[v] for d, v in behind.items() if values[v] > 1e-6},
        missing={sid: values[v] for sid, v in missing.items() if values[v] > 1e-6},
        weak_points=[f"{sid} without {fid}" for (sid, fid), v in weak.items() if values[v] > 1e-6],
    )


def hard_violations(
    steps: Sequence[Step],
    factories: Sequence[Factory],
    order: Order,
    weights: Weights,
    result: Plan,
    *,
    tolerance: float = 1e-4,
) -> list[str]:
    """The plan's breaches of the hard constraints, checked without the solver."""
    by_step = {s.id: s for s in steps}
    by_factory = {f.id: f for f in factories}
    problems: list[str] = []
    load: dict[tuple[str, int], float] = {}
    made: dict[tuple[str, int], float] = {}
    share: dict[tuple[str, str], float] = {}
    for (sid, fid, day), units in result.units.items():
        step, factory = by_step[sid], by_factory[fid]
        if not eligible(step, factory):
            problems.append(f"{fid} is not eligible for {sid}")
        load[(fid, day)] = load.get((fid, day), 0.0) + units * step.hours_per_unit
        made[(sid, day)] = made.get((sid, day), 0.0) + units
        share[(sid, fid)] = share.get((sid, fid), 0.0) + units
    for (fid, day), hours in load.items():
        if hours > by_factory[fid].hours[day] * (1 + tolerance) + tolerance:
            problems.append(
                f"{fid} works {hours:.2f} h on day {day}, has {by_factory[fid].hours[day]}"
            )
    needed = required_units(steps, order.quantity)
    for (sid, fid), units in share.items():
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
            cumulative = 0.0
            for day in range(order.days):
                cumulative += made.get((s.id, day), 0.0)
                supplied = sum(made.get((before, e), 0.0) for e in range(0, day - s.lag_days + 1))
                if cumulative > q.yield_ * supplied * (1 + tolerance) + tolerance:
                    problems.append(f"{s.id} ahead of {before} on day {day}")
                    break
    return problems
