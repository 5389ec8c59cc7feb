"""Which factory, and which of its machines, may do a process step.

One rule for both sides of a plan: cloud-factory allocation gives a step only to lines this
rule accepts, and the factory's own schedule runs the step's lots on the machines this rule
names. Had they two rules, the plan could hand a factory work its schedule then refuses.

A factory may do a step when it has a capacity calendar for the step's process, every special
skill the step asks for, and at least one machine for it:

- a step that names an equipment type runs on the factory's machines of that type whose key
  parameters reach the step's minimums (`clamp_force_kn >= 800`);
- a step that names none runs on the factory's lines for its process (`<process>-line`
  equipment), or on one such line when the factory lists none: its calendar for the process
  is what it offers, whatever it does the work with.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from regional_node.factories.models import Equipment

MACHINES_PER_TYPE = 20
"""Machines of one type a schedule uses at most (the solver's size, not the factory's)."""


def line_type(process: str) -> str:
    return f"{process}-line"


@dataclass(frozen=True)
class Needs:
    """What a process step asks of a factory."""

    process: str
    equipment: str | None = None
    parameters: tuple[tuple[str, float], ...] = ()
    """Key parameters of the machine, at least these values."""
    skills: frozenset[str] = frozenset()

    @property
    def machine_type(self) -> str:
        return self.equipment or line_type(self.process)

    @property
    def equipment_capability(self) -> str | None:
        """The machine requirement as one name (the allocation model's `equipment:` skills):
        a factory offers it when some machine meets all its parameters at once."""
        if self.equipment is None:
            return None
        if not self.parameters:
            return f"equipment:{self.equipment}"
        limits = ",".join(f"{key}>={value:g}" for key, value in self.parameters)
        return f"equipment:{self.equipment}[{limits}]"

    @property
    def capabilities(self) -> frozenset[str]:
        """Names a factory must offer (`offered`) to be given the step."""
        machine = self.equipment_capability
        return self.skills | ({machine} if machine else set())


@dataclass(frozen=True)
class Capabilities:
    """What a factory has, as far as eligibility goes."""

    skills: frozenset[str]
    equipment: tuple[Equipment, ...]
    processes: frozenset[str]
    """Processes it has a capacity calendar for (in the days that matter)."""


def meets(item: Equipment, parameters: Iterable[tuple[str, float]]) -> bool:
    return all(_number(item.parameters.get(key), minimum) for key, minimum in parameters)


def _number(value: Any, minimum: float) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= minimum
    )


def machines(
    needs: Needs, equipment: Sequence[Equipment], *, limit: int = MACHINES_PER_TYPE
) -> list[str]:
    """Ids of the machines that may run the step, at most `limit`: `<type>-<n>`, numbered over
    all the factory's machines of the type (by model), so steps that share a machine type name
    the same machines whatever parameters they ask for."""
    kind = needs.machine_type
    items = sorted((e for e in equipment if e.type == kind), key=lambda e: (e.model, str(e.id)))
    ids: list[str] = []
    first = 1
    for item in items:
        if item.count > 0 and meets(item, needs.parameters):
            ids.extend(f"{kind}-{n}" for n in range(first, first + min(item.count, limit)))
        first += max(item.count, 0)
    if not items and needs.equipment is None:
        ids = [f"{kind}-1"]
    return ids[:limit]


def shortfall(needs: Needs, factory: Capabilities) -> str | None:
    """Why the factory may not do the step, or None when it may."""
    if needs.process not in factory.processes:
        return f"no capacity calendar for {needs.process}"
    missing = needs.skills - factory.skills
    if missing:
        return f"lacks the skills {', '.join(sorted(missing))}"
    if machines(needs, factory.equipment, limit=1):
        return None
    if not needs.parameters or not any(e.type == needs.machine_type for e in factory.equipment):
        return f"no {needs.machine_type} listed in its equipment"
    limits = " and ".join(f"{key} >= {value:g}" for key, value in needs.parameters)
    return f"no {needs.machine_type} with {limits}"


def offered(factory: Capabilities, steps: Iterable[Needs]) -> frozenset[str]:
    """The capability names the factory offers for these steps: its skills, and the machine
    requirement of each step some machine of it meets. A step's `capabilities` are within
    them exactly when `shortfall` finds nothing (given the calendar)."""
    found = {
        machine
        for needs in steps
        if (machine := needs.equipment_capability) is not None
        and machines(needs, factory.equipment, limit=1)
    }
    return factory.skills | found


def capabilities(
    skills: Iterable[str], equipment: Iterable[Equipment], processes: Iterable[str]
) -> Capabilities:
    return Capabilities(
        skills=frozenset(skills),
        equipment=tuple(equipment),
        processes=frozenset(processes),
    )


def parameters_of(values: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    return tuple(sorted((key, float(value)) for key, value in values.items()))
