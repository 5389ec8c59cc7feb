"""A simulated cloud-factory network for a routing: small factories, each able to do one or two
of its processes, with capacity calendars and quoted rates, in the shape of seed 002 (62 small
makers for 14 processes, about five per process, 100k sets a day between them).

Written as the JSON `yunfab node factory import` reads, so the demo onboards them through the
same console and services an operator would use."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from regional_node.orders.routings import RoutingSpec

CITIES = ("Dongguan", "Foshan", "Shenzhen", "Zhongshan", "Huizhou", "Jiangmen")


def cloud_network(
    routing: RoutingSpec,
    *,
    start: dt.date,
    days: int = 30,
    factories: int = 62,
    daily_sets: float = 100_000.0,
    seed: int = 2,
) -> list[dict[str, Any]]:
    """`factories` profiles with capacity from `start` for `days`: every process gets about the
    same number of makers, whose units a day add up to 1.6x what `daily_sets` needs, so losing
    any one still meets the target; every fifth factory also does a second process."""
    rng = random.Random(seed)
    steps = list(routing.steps)
    per_step = [factories // len(steps) + (1 if i < factories % len(steps) else 0)
                for i in range(len(steps))]  # fmt: skip
    network: list[dict[str, Any]] = []
    for step, makers in zip(steps, per_step, strict=True):
        need = daily_sets / step.yield_
        standard_rate = step.unit_cost / step.hours_per_unit
        for n in range(makers):
            units = round(1.6 * need / makers * rng.uniform(0.85, 1.15))
            slug = f"{step.process}-{n + 1:02d}"
            equipment = (
                [{"type": step.equipment, "model": "standard", "count": rng.randint(4, 30)}]
                if step.equipment
                else [{"type": f"{step.process}-line", "model": "standard", "count": 2}]
            )
            capacity = [{
                "process": step.process, "from": start.isoformat(), "days": days,
                "units": units, "rate": round(standard_rate * rng.uniform(0.8, 1.25), 2),
            }]  # fmt: skip
            city = rng.choice(CITIES)
            network.append(
                {
                    "slug": slug,
                    "name": f"{city} {step.name} Works {n + 1}",
                    "location": {
                        "address": f"{rng.randint(1, 300)} Industrial Rd",
                        "city": city,
                        "region": "CN-GD",
                    },
                    "contact": {
                        "name": f"Plant manager {n + 1}",
                        "email": f"plant@{slug}.example",
                    },
                    "products": [routing.name],
                    "skills": sorted(set(step.skills) | {"small-batch"}),
                    "equipment": equipment,
                    "capacity": capacity,
                }
            )
    # Some makers can also take a second process (shared hours: the calendar is per process).
    for index, factory in enumerate(network):
        if index % 5 != 4:
            continue
        other = rng.choice(steps)
        process = factory["capacity"][0]["process"]
        if other.process == process:
            continue
        factory["skills"] = sorted(set(factory["skills"]) | set(other.skills))
        if other.equipment:
            factory["equipment"].append({"type": other.equipment, "model": "standard", "count": 2})
        factory["capacity"].append({
            "process": other.process, "from": start.isoformat(), "days": days,
            "units": round(0.25 * daily_sets / other.yield_ / 5),
            "rate": round(other.unit_cost / other.hours_per_unit * rng.uniform(0.9, 1.3), 2),
        })  # fmt: skip
    return network
