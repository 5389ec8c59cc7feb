"""Product templates: a process routing as data, read from a TOML or JSON file (or a market
package later), validated before anything is stored.

    product = "bike-licence-plate"
    name = "Shared-bike licence plate"
    unit = "set"

    [[steps]]
    id = "pc-board"               # unique in the routing
    name = "PC board moulding"
    process = "injection-moulding"  # the factory capacity calendar's process
    equipment = "injection-moulding-machine"   # optional: an equipment type the factory must have
    parameters = { clamp_force_kn = 800 }   # optional: the machine's key parameters, at least
    skills = ["transparent-pc"]   # optional: special skills the factory must have
    after = []                    # steps whose output this one needs
    hours_per_unit = 0.002        # standard time
    unit_cost = 0.35              # standard cost of one unit (when a factory quotes no rate)
    yield = 0.98                  # good units per unit started
    lag_days = 1                  # transport from the previous steps' factories
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeGuard

from regional_node.factories import eligibility
from regional_node.orders.errors import RoutingInvalid
from solvers.allocation.model import AllocationError, Step, required_units

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
PARAMETER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_STEPS = 200
MIN_HOURS = 1e-6
"""Hours per unit below this (3.6 ms) are a typo, and dividing a cost by them overflows."""
MAX_UNIT_COST = 1e9


@dataclass(frozen=True)
class RoutingStep:
    id: str
    name: str
    process: str
    hours_per_unit: float
    unit_cost: float
    equipment: str | None = None
    skills: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    yield_: float = 1.0
    lag_days: int = 0
    parameters: tuple[tuple[str, float], ...] = ()
    """Minimum key parameters of the equipment, sorted by name."""

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["yield"] = data.pop("yield_")
        data["skills"], data["after"] = list(self.skills), list(self.after)
        # Left out when empty: routings stored before it existed keep their digest.
        data.pop("parameters")
        if self.parameters:
            data["parameters"] = dict(self.parameters)
        return data

    @property
    def needs(self) -> eligibility.Needs:
        return eligibility.Needs(
            process=self.process,
            equipment=self.equipment,
            parameters=self.parameters,
            skills=frozenset(self.skills),
        )

    def model_step(self) -> Step:
        """The allocation model's view: a line of the step's process offering the step's
        capabilities (`eligibility.offered`)."""
        return Step(
            id=self.id,
            hours_per_unit=self.hours_per_unit,
            equipment=self.process,
            skills=self.needs.capabilities,
            after=self.after,
            yield_=self.yield_,
            lag_days=self.lag_days,
        )


@dataclass(frozen=True)
class RoutingSpec:
    product: str
    name: str
    unit: str
    steps: tuple[RoutingStep, ...]

    @property
    def digest(self) -> str:
        canonical = json.dumps(
            {"name": self.name, "unit": self.unit, "steps": [s.as_json() for s in self.steps]},
            sort_keys=True,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def load_file(path: Path) -> RoutingSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RoutingInvalid(f"{path}: {exc.strerror or exc}") from exc
    return parse(text, fmt="json" if path.suffix.lower() == ".json" else "toml", source=path.name)


def parse(text: str, *, fmt: str = "toml", source: str = "routing") -> RoutingSpec:
    try:
        data = json.loads(text) if fmt == "json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RoutingInvalid(f"{source}: not valid {fmt.upper()}: {exc}") from exc
    if not isinstance(data, dict):
        raise RoutingInvalid(f"{source}: expected a table with product, name and steps")
    return from_mapping(data, source=source)


def from_mapping(data: dict[str, Any], *, source: str = "routing") -> RoutingSpec:
    product = data.get("product")
    if not isinstance(product, str) or not SLUG.match(product):
        raise RoutingInvalid(f"{source}: product must be a lowercase slug")
    name = data.get("name", product)
    unit = data.get("unit", "pcs")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
        raise RoutingInvalid(f"{source}: name must be 1 to 200 characters")
    if not isinstance(unit, str) or not 1 <= len(unit) <= 32:
        raise RoutingInvalid(f"{source}: unit must be 1 to 32 characters")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise RoutingInvalid(f"{source}: steps must be a non-empty list")
    if len(raw_steps) > MAX_STEPS:
        raise RoutingInvalid(f"{source}: at most {MAX_STEPS} steps")
    steps = tuple(_step(raw, f"{source}: steps[{i}]") for i, raw in enumerate(raw_steps))
    seen: set[str] = set()
    for step in steps:
        if step.id in seen:
            raise RoutingInvalid(f"{source}: step {step.id} given twice")
        seen.add(step.id)
    try:
        required_units([s.model_step() for s in steps], 1.0)  # unknown steps, cycles
    except AllocationError as exc:
        raise RoutingInvalid(f"{source}: {exc}") from exc
    return RoutingSpec(product=product, name=name.strip(), unit=unit, steps=steps)


def _step(raw: Any, where: str) -> RoutingStep:
    if not isinstance(raw, dict):
        raise RoutingInvalid(f"{where}: expected a table")
    known = {
        "id", "name", "process", "equipment", "parameters", "skills", "after",
        "hours_per_unit", "unit_cost", "yield", "lag_days",
    }  # fmt: skip
    unknown = set(raw) - known
    if unknown:
        raise RoutingInvalid(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    step_id = raw.get("id")
    if not isinstance(step_id, str) or not SLUG.match(step_id):
        raise RoutingInvalid(f"{where}.id: a lowercase slug")
    where = f"{where} ({step_id})"
    process = raw.get("process")
    if not isinstance(process, str) or not SLUG.match(process):
        raise RoutingInvalid(f"{where}.process: a lowercase slug (the capacity calendar's)")
    equipment = raw.get("equipment")
    if equipment is not None and (not isinstance(equipment, str) or not SLUG.match(equipment)):
        raise RoutingInvalid(f"{where}.equipment: a lowercase slug")
    parameters = _parameters(raw.get("parameters", {}), f"{where}.parameters")
    if parameters and equipment is None:
        raise RoutingInvalid(f"{where}.parameters: only with an equipment type")
    skills, after = raw.get("skills", []), raw.get("after", [])
    for key, value in (("skills", skills), ("after", after)):
        if (
            not isinstance(value, list)
            or len(value) > MAX_STEPS
            or not all(isinstance(v, str) and 0 < len(v) <= 100 for v in value)
        ):
            raise RoutingInvalid(f"{where}.{key}: a list of names (at most {MAX_STEPS})")
    hours, cost = raw.get("hours_per_unit"), raw.get("unit_cost", 0.0)
    if not _number(hours) or not MIN_HOURS <= hours <= 1000:
        raise RoutingInvalid(
            f"{where}.hours_per_unit: a number of hours, {MIN_HOURS:g} to 1000 (a unit)"
        )
    # NaN passes `cost < 0`: bounds are written so that it fails them (and infinity too).
    if not _number(cost) or not 0 <= cost <= MAX_UNIT_COST:
        raise RoutingInvalid(f"{where}.unit_cost: a number, 0 to {MAX_UNIT_COST:g}")
    good = raw.get("yield", 1.0)
    if not _number(good) or not 0 < good <= 1:
        raise RoutingInvalid(f"{where}.yield: in (0, 1]")
    lag = raw.get("lag_days", 0)
    if not isinstance(lag, int) or isinstance(lag, bool) or not 0 <= lag <= 60:
        raise RoutingInvalid(f"{where}.lag_days: a whole number of days, 0 to 60")
    name = raw.get("name", step_id)
    if not isinstance(name, str) or not 1 <= len(name) <= 200:
        raise RoutingInvalid(f"{where}.name: 1 to 200 characters")
    return RoutingStep(
        id=step_id,
        name=name,
        process=process,
        equipment=equipment,
        parameters=parameters,
        skills=tuple(skills),
        after=tuple(after),
        hours_per_unit=float(hours),
        unit_cost=float(cost),
        yield_=float(good),
        lag_days=lag,
    )


def _parameters(raw: Any, where: str) -> tuple[tuple[str, float], ...]:
    if not isinstance(raw, dict) or len(raw) > 20:
        raise RoutingInvalid(f"{where}: a table of at most 20 minimums, e.g. clamp_force_kn = 800")
    for key, value in raw.items():
        if not PARAMETER.match(key):
            raise RoutingInvalid(f"{where}: {key!r} is not a parameter name (snake_case)")
        if not _number(value) or not 0 <= value <= 1e12:
            raise RoutingInvalid(f"{where}.{key}: a number, 0 to 1e12 (the least a machine has)")
    return eligibility.parameters_of(raw)


def _number(value: Any) -> TypeGuard[int | float]:
    """An int or a float, not a bool (TOML's and JSON's true are ints to Python)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def steps_from_json(rows: list[dict[str, Any]]) -> tuple[RoutingStep, ...]:
    """Steps as stored (`RoutingStep.as_json`), already validated on import."""
    return tuple(
        RoutingStep(
            id=row["id"],
            name=row["name"],
            process=row["process"],
            equipment=row.get("equipment"),
            parameters=eligibility.parameters_of(row.get("parameters", {})),
            skills=tuple(row.get("skills", ())),
            after=tuple(row.get("after", ())),
            hours_per_unit=row["hours_per_unit"],
            unit_cost=row["unit_cost"],
            yield_=row["yield"],
            lag_days=row["lag_days"],
        )
        for row in rows
    )
