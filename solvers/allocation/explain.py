"""Why a plan looks the way it does, in numbers and in plain words.

Everything here is recomputed from the plan's units and the inputs, not read from the solver:
an explanation means the same whichever solver made the plan, and a stored plan can be explained
again later. Days in the data are the plan's day indices (0 is the first day); in the sentences
they are counted from 1, as people count them.

Re-planning lives in the model (`replan`); it is offered here too because a re-plan is mostly
read through what it changed (`Replan.as_json`) and why (`explain`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from solvers.allocation.model import (
    CapacityLimit,
    Factory,
    Order,
    Plan,
    Replan,
    ReplanEffect,
    Step,
    Weights,
    capacity_bounds,
    eligible,
    finished_output,
    json_ready,
    replan,
    required_units,
    share_cap,
    target_misses,
)

__all__ = [
    "Binding",
    "CapacityBinding",
    "Explanation",
    "FactoryUnused",
    "FactoryUse",
    "Optimality",
    "PrecedenceBinding",
    "Replan",
    "ReplanEffect",
    "ShareCapBinding",
    "StepExplanation",
    "WeakPoint",
    "explain",
    "replan",
]

_FULL = 1e-4
"""A factory-day is at full capacity when its load is within this fraction of its hours; the
same tolerance as `hard_violations`."""


@dataclass
class FactoryUse:
    factory: str
    units: float
    share: float
    """Of what the plan makes of the step."""
    cost_per_unit: float
    cost_rank: int
    """1 for the cheapest of the step's eligible factories (equal costs share a rank)."""
    hours_used: float
    """On this step."""
    hours_used_all_steps: float
    hours_available: float
    """Its calendar's hours over the order's days (from `today` for a re-plan)."""
    full_days: int
    """Days it works on this step with its hours all taken (by any step)."""
    days_worked: int
    at_share_cap: bool
    reason: str


@dataclass
class FactoryUnused:
    factory: str
    cost_per_unit: float
    cost_rank: int
    reason: str


@dataclass
class StepExplanation:
    step: str
    required_units: float
    made_units: float
    window: tuple[int, int]
    """First and last day the step can do useful work (after its inputs can arrive, before
    its output must leave for the last step)."""
    eligible_factories: int
    """With the equipment, skills and some hours in the order's days (`unused` also lists
    those without hours)."""
    share_cap_units: float
    used: list[FactoryUse]
    unused: list[FactoryUnused]


@dataclass
class CapacityBinding:
    factory: str
    full_days: list[int]
    days_available: int
    steps: list[str]
    """The steps that share its hours on those days."""


@dataclass
class ShareCapBinding:
    step: str
    factory: str
    units: float
    cap_units: float


@dataclass
class PrecedenceBinding:
    """Days a step made exactly what its predecessor had delivered (after yield and lag) while
    one of its factories still had free hours: the predecessor held it back."""

    step: str
    before: str
    lag_days: int
    days: list[int]


@dataclass
class Binding:
    capacity: list[CapacityBinding]
    share_caps: list[ShareCapBinding]
    precedence: list[PrecedenceBinding]
    target_shortfall: dict[int, float]
    """Day -> finished products behind the cumulative daily target (the last day's target is
    the order's quantity)."""
    missing: dict[str, float]
    """Final step -> units not made by the last day."""
    step_capacity: list[CapacityLimit]
    """Steps whose eligible factories cannot make what the order needs: the order is limited
    by their capacity, to at most `max_quantity` finished products."""


@dataclass
class Optimality:
    status: str
    objective: float
    bound: float
    """The solver's proven lower bound on the objective (see `Plan.lp_bound`)."""
    gap: float
    solve_time_s: float


@dataclass
class WeakPoint:
    """A step that would fall below its daily need if one of its makers failed."""

    step: str
    factory: str
    capacity_left_per_day: float
    """Units a day the step's other makers could make (their average hours)."""
    daily_need: float
    shortfall_per_day: float


@dataclass
class Explanation:
    optimality: Optimality
    made_quantity: float
    """Finished products by the last day."""
    max_quantity: float
    """An upper bound on the finished products from the factories' capacity."""
    steps: list[StepExplanation]
    binding: Binding
    risk: list[WeakPoint]
    summary: list[str]
    """The headline in plain words, one sentence a line."""

    def as_json(self) -> dict[str, Any]:
        """Plain JSON types (string keys, lists, None for NaN)."""
        data: dict[str, Any] = json_ready(asdict(self))
        return data

    def as_text(self) -> str:
        lines = list(self.summary)
        for step in self.steps:
            lines.append(
                f"{step.step}: {step.made_units:,.0f} of {step.required_units:,.0f} units"
                f" by {len(step.used)} of {step.eligible_factories} eligible factories"
            )
            lines += [
                f"  {u.factory} {u.units:,.0f} ({u.share:.0%}): {u.reason}" for u in step.used
            ]
            lines += [f"  {u.factory} unused: {u.reason}" for u in step.unused]
        return "\n".join(lines)


def _money(value: float) -> str:
    return f"{value:.3g}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _listing(items: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


def _span(first: int, last: int) -> str:
    return f"day {first + 1}" if first == last else f"days {first + 1}-{last + 1}"


def explain(
    steps: Sequence[Step],
    factories: Sequence[Factory],
    order: Order,
    weights: Weights,
    plan: Plan,
) -> Explanation:
    """Why each factory, which constraints bind, how far from the proven bound, and what risk
    is left. Factories that a re-plan dropped but that made units before `plan.today` are
    counted in what was made and otherwise left out."""
    by_step = {s.id: s for s in steps}
    by_factory = {f.id: f for f in factories}
    today = plan.today
    future = range(today, order.days)
    needed = required_units(steps, order.quantity)
    windows, limits, max_quantity = capacity_bounds(
        steps, factories, order, weights, today=today, made_before=plan.units
    )
    capable = {s.id: [f for f in factories if eligible(s, f)] for s in steps}
    options = {s.id: [f for f in capable[s.id] if any(f.hours[: order.days])] for s in steps}
    # Loads, per step and factory and per factory and day.
    units_of: dict[tuple[str, str], float] = {}
    days_of: dict[tuple[str, str], set[int]] = {}
    load: dict[tuple[str, int], float] = {}
    steps_on: dict[tuple[str, int], set[str]] = {}
    made_day: dict[tuple[str, int], float] = {}
    for (sid, fid, day), units in plan.units.items():
        units_of[(sid, fid)] = units_of.get((sid, fid), 0.0) + units
        made_day[(sid, day)] = made_day.get((sid, day), 0.0) + units
        if fid not in by_factory:
            continue
        days_of.setdefault((sid, fid), set()).add(day)
        if day < today:
            continue
        load[(fid, day)] = load.get((fid, day), 0.0) + units * by_step[sid].hours_per_unit
        steps_on.setdefault((fid, day), set()).add(sid)

    def full(fid: str, day: int) -> bool:
        hours = by_factory[fid].hours[day]
        return hours > 0 and load.get((fid, day), 0.0) >= hours * (1 - _FULL) - 1e-9

    def free_hours(fid: str, days: range) -> float:
        f = by_factory[fid]
        return sum(max(0.0, f.hours[d] - load.get((fid, d), 0.0)) for d in days)

    caps = {s.id: share_cap(weights, len(options[s.id])) * needed[s.id] for s in steps}
    explained: list[StepExplanation] = []
    for s in steps:
        eligible_here = capable[s.id]
        cost = {f.id: f.cost_per_hour * s.hours_per_unit for f in eligible_here}
        # Ranked among the factories with hours in the order's days: those the plan could use.
        rivals = {f.id: cost[f.id] for f in options[s.id]}
        rank = {
            fid: 1 + sum(1 for c in rivals.values() if c < value - 1e-12)
            for fid, value in cost.items()
        }
        made = sum(u for (sid, _), u in units_of.items() if sid == s.id)
        first, last = windows[s.id]
        window = range(max(first, today), last + 1)
        at_cap = {
            f.id
            for f in eligible_here
            if units_of.get((s.id, f.id), 0.0) >= caps[s.id] * (1 - _FULL)
        }
        full_in_window = {
            f.id
            for f in eligible_here
            if any(f.hours[d] > 0 for d in window)
            and all(full(f.id, d) for d in window if f.hours[d] > 0)
        }
        used_ids = [f.id for f in eligible_here if units_of.get((s.id, f.id), 0.0) > 0]
        active_days = {d for fid in used_ids for d in days_of.get((s.id, fid), ())}
        used: list[FactoryUse] = []
        for fid in sorted(used_ids, key=lambda i: (cost[i], i)):
            f = by_factory[fid]
            worked = sorted(days_of[(s.id, fid)])
            parts = []
            cheaper = [g for g in rivals if rivals[g] < cost[fid] - 1e-12]
            if not cheaper:
                parts.append(f"cheapest eligible at {_money(cost[fid])}/unit")
            else:
                parts.append(
                    f"{_ordinal(rank[fid])} cheapest of {len(rivals)} eligible at"
                    f" {_money(cost[fid])}/unit"
                )
                held = [
                    f"{len(group)} at their share cap" if kind == "cap" else f"{len(group)} full"
                    for kind, group in (
                        ("cap", [g for g in cheaper if g in at_cap]),
                        ("full", [g for g in cheaper if g in full_in_window and g not in at_cap]),
                    )
                    if group
                ]
                if held:
                    parts.append(f"of the {len(cheaper)} cheaper, {' and '.join(held)}")
            if fid in at_cap:
                parts.append(f"at its share cap ({caps[s.id] / needed[s.id]:.0%} of the step)")
            full_days = sum(1 for d in worked if full(fid, d))
            if full_days:
                parts.append(f"capacity full on {full_days} of {_days(len(worked))}")
            units = units_of[(s.id, fid)]
            past = sum(plan.units.get((s.id, fid, d), 0.0) for d in range(today))
            if past > 0:
                parts.append(f"{past:,.0f} of its {units:,.0f} made before day {today + 1}")
            hours_used = sum(plan.units.get((s.id, fid, d), 0.0) * s.hours_per_unit for d in future)
            used.append(
                FactoryUse(
                    factory=fid,
                    units=units,
                    share=units / made if made > 0 else 0.0,
                    cost_per_unit=cost[fid],
                    cost_rank=rank[fid],
                    hours_used=hours_used,
                    hours_used_all_steps=sum(load.get((fid, d), 0.0) for d in future),
                    hours_available=sum(f.hours[d] for d in future),
                    full_days=full_days,
                    days_worked=len(worked),
                    at_share_cap=fid in at_cap,
                    reason="; ".join(parts),
                )
            )
        unused: list[FactoryUnused] = []
        dearest_used = max((cost[fid] for fid in used_ids), default=0.0)
        for f in sorted(eligible_here, key=lambda g: (cost[g.id], g.id)):
            if f.id in used_ids:
                continue
            hours = sum(f.hours[d] for d in window)
            if hours <= 0:
                reason = (
                    f"no capacity in window ({_span(window.start, window.stop - 1)})"
                    if window
                    else "no capacity in window (the step has no useful day left)"
                )
            elif free_hours(f.id, window) <= 1e-9:
                others = sorted({t for d in window for t in steps_on.get((f.id, d), ())})
                reason = f"capacity taken by {', '.join(others)} on all its days in the window"
            elif used_ids and cost[f.id] >= dearest_used - 1e-12:
                reason = (
                    f"costlier than the {len(used_ids)} used"
                    f" ({_money(cost[f.id])}/unit, the dearest used {_money(dearest_used)})"
                )
            elif plan.candidates and f.id not in plan.candidates.get(s.id, []):
                reason = (
                    f"not among the {len(plan.candidates.get(s.id, []))} candidates the LP"
                    " relaxation picked"
                )
            elif not any(
                f.hours[d] > load.get((f.id, d), 0.0) + 1e-9 for d in active_days if d in window
            ):
                reason = "its free hours fall on days the step has nothing to make"
            else:
                reason = (
                    "cheaper than some used but left out within the optimality gap"
                    f" ({max(plan.gap, 0.0):.2%})"
                )
            unused.append(FactoryUnused(f.id, cost[f.id], rank[f.id], reason))
        explained.append(
            StepExplanation(
                step=s.id,
                required_units=needed[s.id],
                made_units=made,
                window=(first, last),
                eligible_factories=len(options[s.id]),
                share_cap_units=caps[s.id],
                used=used,
                unused=unused,
            )
        )
    binding = Binding(
        capacity=_capacity_binding(load, steps_on, by_factory, full, future),
        share_caps=[
            ShareCapBinding(s.id, fid, units_of[(s.id, fid)], caps[s.id])
            for s in steps
            for fid in sorted({f.id for f in options[s.id]})
            if units_of.get((s.id, fid), 0.0) >= caps[s.id] * (1 - _FULL)
        ],
        precedence=_precedence_binding(steps, order, needed, made_day, options, full, future),
        target_shortfall=target_misses(steps, order, plan.units),
        missing=dict(plan.missing),
        step_capacity=limits,
    )
    risk = _weak_points(steps, order, needed, units_of, by_factory, today)
    made_quantity = finished_output(steps, order, plan.units)[-1]
    optimality = Optimality(plan.status, plan.objective, plan.lp_bound, plan.gap, plan.solve_time_s)
    return Explanation(
        optimality=optimality,
        made_quantity=made_quantity,
        max_quantity=max_quantity,
        steps=explained,
        binding=binding,
        risk=risk,
        summary=_summary(order, optimality, made_quantity, binding, risk),
    )


def _capacity_binding(
    load: dict[tuple[str, int], float],
    steps_on: dict[tuple[str, int], set[str]],
    by_factory: dict[str, Factory],
    full: Callable[[str, int], bool],
    future: range,
) -> list[CapacityBinding]:
    out: list[CapacityBinding] = []
    for fid in sorted({fid for fid, _ in load}):
        days = [d for d in future if full(fid, d)]
        if days:
            out.append(
                CapacityBinding(
                    factory=fid,
                    full_days=days,
                    days_available=sum(1 for d in future if by_factory[fid].hours[d] > 0),
                    steps=sorted({t for d in days for t in steps_on.get((fid, d), ())}),
                )
            )
    return out


def _precedence_binding(
    steps: Sequence[Step],
    order: Order,
    needed: dict[str, float],
    made_day: dict[tuple[str, int], float],
    options: dict[str, list[Factory]],
    full: Callable[[str, int], bool],
    future: range,
) -> list[PrecedenceBinding]:
    by_step = {s.id: s for s in steps}
    cumulative: dict[tuple[str, int], float] = {}
    for s in steps:
        total = 0.0
        for d in range(order.days):
            total += made_day.get((s.id, d), 0.0)
            cumulative[(s.id, d)] = total
    out: list[PrecedenceBinding] = []
    for s in steps:
        tolerance = 1e-6 * max(1.0, needed[s.id])
        for before in s.after:
            q = by_step[before]
            days = []
            for d in future:
                made = cumulative[(s.id, d)]
                supplied = q.yield_ * cumulative[(before, d - s.lag_days)] if d >= s.lag_days else 0
                could_make_more = any(f.hours[d] > 0 and not full(f.id, d) for f in options[s.id])
                if (
                    made >= supplied - tolerance
                    and made < needed[s.id] - tolerance
                    and could_make_more
                ):
                    days.append(d)
            if days:
                out.append(PrecedenceBinding(s.id, before, s.lag_days, days))
    return out


def _weak_points(
    steps: Sequence[Step],
    order: Order,
    needed: dict[str, float],
    units_of: dict[tuple[str, str], float],
    by_factory: dict[str, Factory],
    today: int,
) -> list[WeakPoint]:
    """The model's resilience rule applied to the factories the plan uses: without one maker,
    can the others' average daily capacity still make the step's daily need?"""
    span = max(order.days - today, 1)
    out: list[WeakPoint] = []
    for s in steps:
        need = order.daily_target * needed[s.id] / order.quantity
        makers = [
            fid for (sid, fid), u in units_of.items() if sid == s.id and u > 0 and fid in by_factory
        ]
        capacity = {
            fid: sum(by_factory[fid].hours[today : order.days]) / span / s.hours_per_unit
            for fid in makers
        }
        for fid in sorted(makers):
            left = sum(c for g, c in capacity.items() if g != fid)
            if left < need * (1 - 1e-6):
                out.append(WeakPoint(s.id, fid, left, need, need - left))
    return out


def _summary(
    order: Order,
    optimality: Optimality,
    made_quantity: float,
    binding: Binding,
    risk: list[WeakPoint],
) -> list[str]:
    lines = [
        f"{optimality.status} plan: cost {optimality.objective:,.2f}, proven bound"
        f" {optimality.bound:,.2f}, gap {max(optimality.gap, 0.0):.2%}",
        f"makes {made_quantity:,.0f} of {order.quantity:,.0f} by day {order.days}",
    ]
    for limit in binding.step_capacity:
        first, last = limit.window
        lines.append(
            f"step {limit.step}'s capacity binds: its eligible factories can make at most"
            f" {limit.max_units:,.0f} of the {limit.required_units:,.0f} units it needs"
            f" ({_span(first, last) if first <= last else 'no day'}), so at most"
            f" {limit.max_quantity:,.0f} finished products"
        )
    if binding.capacity:
        days = sum(len(c.full_days) for c in binding.capacity)
        lines.append(f"{len(binding.capacity)} factories at full capacity on {days} factory-days")
    if binding.share_caps:
        lines.append(
            "at their share cap: "
            + _listing([f"{c.factory} on {c.step}" for c in binding.share_caps])
        )
    for p in binding.precedence:
        lines.append(f"{p.step} held back by {p.before} on {_days(len(p.days))}")
    if binding.target_shortfall:
        worst = max(binding.target_shortfall.values())
        lines.append(
            f"daily target missed on {_days(len(binding.target_shortfall))} (at worst by"
            f" {worst:,.0f})"
        )
    for w in risk:
        lines.append(
            f"{w.step} without {w.factory}: {w.capacity_left_per_day:,.0f} a day left for a need"
            f" of {w.daily_need:,.0f} (short {w.shortfall_per_day:,.0f} a day)"
        )
    return lines
