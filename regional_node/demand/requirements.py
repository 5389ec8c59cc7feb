"""Net requirements: from a SKU's weekly forecast to the production it needs, week by week.

Each week needs the forecast's mean plus a safety stock, the quantile at the service level less
the mean (the week's demand at q90 for 90%). What is there to meet it is the stock projected to
the start of the week: stock on hand, plus open production (orders accepted from earlier
proposals) and proposals kept in the frozen horizon, arriving in their weeks, less the mean
demand of the weeks before. What is short is the net requirement, rounded up to the minimum lot
and its multiple; the surplus of a rounded lot carries over as stock, and demand a (frozen) week
could not meet carries over as backlog for the next lot. For the first week this is exactly
"the quantile less stock on hand and open production".

Lead time is the routing's: the longest chain of its steps, a day for each step and its
transport lag before it; a proposal is released that many days before the Sunday its week
starts after.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from regional_node.orders.routings import RoutingStep


@dataclass(frozen=True)
class WeekDemand:
    week: dt.date
    mean: float
    quantile: float
    """At the service level."""


@dataclass(frozen=True)
class Lots:
    minimum: int = 1
    multiple: int = 1

    def size(self, short: float) -> int:
        """The smallest lot that covers `short`."""
        units = max(math.ceil(short - 1e-9), self.minimum)
        return math.ceil(units / self.multiple) * self.multiple


@dataclass(frozen=True)
class Requirement:
    week: dt.date
    demand: float
    safety: float
    stock: float
    """Projected at the start of the week, before anything proposed for it."""
    short: float
    """The net requirement: what the stock lacks of demand plus safety."""
    quantity: int
    """What to make: the requirement as a lot (0 when none, or when the week is frozen)."""
    frozen: bool


def net_requirements(
    weeks: Sequence[WeekDemand],
    *,
    on_hand: float,
    arriving: Mapping[dt.date, float],
    lots: Lots,
    frozen: frozenset[dt.date] = frozenset(),
) -> list[Requirement]:
    """One requirement per week, in order. `arriving`: units due in a week (open production,
    frozen proposals); anything due before the first week counts as on hand. No new lot is
    proposed in a `frozen` week (what was proposed for it is in `arriving`)."""
    ordered = sorted(weeks, key=lambda w: w.week)
    stock = on_hand
    if ordered:
        stock += sum(units for week, units in arriving.items() if week < ordered[0].week)
    found: list[Requirement] = []
    for week in ordered:
        stock += arriving.get(week.week, 0.0)
        mean = max(week.mean, 0.0)
        safety = max(week.quantile - mean, 0.0)
        short = max(mean + safety - stock, 0.0)
        quantity = 0
        if short > 1e-9 and week.week not in frozen:
            quantity = lots.size(short)
        found.append(
            Requirement(
                week=week.week,
                demand=mean,
                safety=safety,
                stock=stock,
                short=short,
                quantity=quantity,
                frozen=week.week in frozen,
            )
        )
        stock += quantity - mean
    return found


def lead_time_days(steps: Sequence[RoutingStep]) -> int:
    """The longest chain of steps, a day each plus the transport lag before it."""
    by_id = {step.id: step for step in steps}
    done: dict[str, int] = {}

    def finish(step_id: str, path: frozenset[str] = frozenset()) -> int:
        if step_id in done:
            return done[step_id]
        step = by_id[step_id]
        before = max(
            (finish(a, path | {step_id}) for a in step.after if a in by_id and a not in path),
            default=0,
        )
        done[step_id] = before + step.lag_days + 1
        return done[step_id]

    return max((finish(step.id) for step in steps), default=1)
