"""Seeded allocation instances shaped like seed 002's order: 14 processes, 62 small factories,
30 days, 100k finished sets a day after a ramp (for tests, the demo and the benchmark)."""

from __future__ import annotations

import random

from regional_node.allocation.model import Factory, Order, Step

EQUIPMENT = (
    "injection-moulding-machine",
    "stamping-press",
    "cnc-mill",
    "paint-line",
    "assembly-bench",
    "laser-marker",
)


def seeded(
    seed: int, *, processes: int = 14, factories: int = 62, days: int = 30, dense: bool = False
) -> tuple[list[Step], list[Factory], Order]:
    """`dense`: each factory has four kinds of equipment instead of two (more eligibility)."""
    rng = random.Random(seed)
    daily = 100_000.0
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
