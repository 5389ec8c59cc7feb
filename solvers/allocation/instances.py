"""Seeded allocation instances shaped like seed 002's order: 14 processes, 62 small factories,
30 days, 100k finished sets a day after a ramp (for tests, the demo and the benchmark), and the
breakdowns that re-planning is tried on."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from solvers.allocation.model import Factory, Order, Plan, Step

EQUIPMENT = (
    "injection-moulding-machine",
    "stamping-press",
    "cnc-mill",
    "paint-line",
    "assembly-bench",
    "laser-marker",
)


def seeded(
    seed: int,
    *,
    processes: int = 14,
    factories: int = 62,
    days: int = 30,
    dense: bool = False,
    daily: float = 100_000.0,
) -> tuple[list[Step], list[Factory], Order]:
    """`dense`: each factory has four kinds of equipment instead of two (more eligibility)."""
    rng = random.Random(seed)
    steps = [
        Step(
            id=f"p{i:02d}",
            hours_per_unit=rng.uniform(0.0004, 0.0012),
            equipment=EQUIPMENT[i % len(EQUIPMENT)],
            after=(f"p{i - 1:02d}",) if i else (),
            yield_=rng.uniform(0.98, 1.0),
            lag_days=1 if i and i % 4 == 0 else 0,
        )
        for i in range(processes)
    ]
    kinds = 4 if dense else 2
    plants = []
    for j in range(factories):
        hours = tuple(
            0.0 if rng.random() < 0.04 else rng.choice((16.0, 20.0, 22.0)) for _ in range(days)
        )
        plants.append(
            Factory(
                id=f"f{j:02d}",
                equipment=frozenset(rng.sample(EQUIPMENT, kinds)),
                skills=frozenset(),
                hours=hours,
                cost_per_hour=rng.uniform(30.0, 60.0),
            )
        )
    order = Order(quantity=daily * (days - 12), days=days, daily_target=daily, ramp_days=3)
    return steps, plants, order


PROVINCE = {"processes": 30, "factories": 1000, "days": 60}
"""A province node's order: 30 processes over 1,000 factories and 60 days."""


def province(
    seed: int,
    *,
    processes: int = 30,
    factories: int = 1000,
    days: int = 60,
    daily: float = 100_000.0,
) -> tuple[list[Step], list[Factory], Order]:
    """A seeded order at province scale, with seed 002's calendars, costs and routing shape:
    by default seed 002's 100k sets a day, which a province's 1,000 factories make with an
    eighth of their hours (seed 002's 62 take nearly all of theirs while the target runs; the
    same load here would be some 750k sets a day). As in seed 002 the quantity is 60% of the
    days at the daily target; the ramp lasts as long as the routing's transport lags (at least
    3 days), so the target can be met from its first day."""
    steps, plants, _ = seeded(
        seed, processes=processes, factories=factories, days=days, daily=daily
    )
    ramp = max(3, sum(s.lag_days for s in steps))
    order = Order(quantity=daily * round(0.6 * days), days=days, daily_target=daily, ramp_days=ramp)
    return steps, plants, order


def most_loaded(steps: Sequence[Step], result: Plan) -> str:
    """The factory with the most planned hours (the lowest id among equals)."""
    hours_per_unit = {s.id: s.hours_per_unit for s in steps}
    load: dict[str, float] = {}
    for (sid, fid, _), units in result.units.items():
        load[fid] = load.get(fid, 0.0) + units * hours_per_unit[sid]
    return max(sorted(load), key=lambda fid: load[fid])


def with_breakdown(
    factories: Sequence[Factory], factory_id: str, *, first_day: int, days: int
) -> list[Factory]:
    """The factories with one of them down (no hours) from `first_day` for `days` days."""
    down = range(first_day, first_day + days)
    return [
        replace(f, hours=tuple(0.0 if d in down else h for d, h in enumerate(f.hours)))
        if f.id == factory_id
        else f
        for f in factories
    ]
