"""A plan's explanation and a re-plan's effect as typed objects.

They are stored as the allocation model writes them (`allocation.explain`): factories as the
model's lines (`<slug>/<process>`), days as indices from the plan's start. Here lines become the
factory's slug and the process, and day indices become dates, so a reader needs neither table.
Plans stored by older versions may lack parts: those read as empty, never as errors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import strawberry


class _Reader:
    """Lines and days of one stored explanation or effect."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.lines: Mapping[str, Mapping[str, Any]] = data.get("lines") or {}
        start = data.get("start")
        self.start = dt.date.fromisoformat(start) if isinstance(start, str) else None

    def factory(self, line: str) -> tuple[str, str]:
        """(slug, process) of a model line."""
        known = self.lines.get(line)
        if known is not None:
            return str(known.get("factory", line)), str(known.get("process", ""))
        slug, _, process = line.partition("/")
        return slug, process

    def day(self, index: Any) -> dt.date | None:
        if self.start is None:
            return None
        try:
            return self.start + dt.timedelta(days=int(index))
        except (TypeError, ValueError):
            return None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


@strawberry.type(name="PlanFactoryUse", description="A factory the plan gives a step to.")
class FactoryUseType:
    factory: str = strawberry.field(description="Its slug.")
    process: str
    units: float
    share: float = strawberry.field(description="Of what the plan makes of the step.")
    cost_per_unit: float | None
    cost_rank: int = strawberry.field(description="1: the cheapest eligible factory.")
    hours_used: float
    hours_available: float
    full_days: int
    days_worked: int
    at_share_cap: bool
    reason: str


@strawberry.type(name="PlanFactoryUnused", description="An eligible factory left out.")
class FactoryUnusedType:
    factory: str
    process: str
    cost_per_unit: float | None
    cost_rank: int
    reason: str


@strawberry.type(name="PlanStepExplanation")
class StepExplanationType:
    step: str
    required_units: float
    made_units: float
    first_day: dt.date | None = strawberry.field(description="First day it can do useful work.")
    last_day: dt.date | None
    eligible_factories: int
    share_cap_units: float | None
    used: list[FactoryUseType]
    unused: list[FactoryUnusedType]


@strawberry.type(name="PlanCapacityBinding", description="A factory whose hours ran out.")
class CapacityBindingType:
    factory: str
    process: str
    full_days: list[dt.date]
    days_available: int
    steps: list[str]


@strawberry.type(name="PlanDayUnits")
class DayUnitsType:
    day: dt.date | None
    units: float | None


@strawberry.type(name="PlanStepUnits")
class StepUnitsType:
    step: str
    units: float | None


@strawberry.type(name="PlanWeakPoint", description="A step that one factory's failure would hurt.")
class WeakPointType:
    step: str
    factory: str
    process: str
    capacity_left_per_day: float | None
    daily_need: float | None
    shortfall_per_day: float | None


@strawberry.type(name="PlanExplanation")
class PlanExplanationType:
    summary: list[str] = strawberry.field(description="The headline, one sentence a line.")
    made_quantity: float | None
    max_quantity: float | None = strawberry.field(
        description="An upper bound from the factories' capacity (null: unbounded)."
    )
    steps: list[StepExplanationType]
    capacity_bindings: list[CapacityBindingType]
    target_shortfall: list[DayUnitsType] = strawberry.field(
        description="Days behind the cumulative daily target, by how many finished products."
    )
    missing: list[StepUnitsType] = strawberry.field(
        description="Final steps' units not made by the last day."
    )
    risk: list[WeakPointType]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanExplanationType:
        read = _Reader(data)
        binding: Mapping[str, Any] = data.get("binding") or {}
        return cls(
            summary=[str(line) for line in data.get("summary") or ()],
            made_quantity=_float(data.get("made_quantity")),
            max_quantity=_float(data.get("max_quantity")),
            steps=[_step(read, step) for step in data.get("steps") or ()],
            capacity_bindings=[
                CapacityBindingType(
                    factory=read.factory(b["factory"])[0],
                    process=read.factory(b["factory"])[1],
                    full_days=[d for d in map(read.day, b.get("full_days", ())) if d],
                    days_available=int(b.get("days_available", 0)),
                    steps=list(b.get("steps", ())),
                )
                for b in binding.get("capacity") or ()
            ],
            target_shortfall=[
                DayUnitsType(day=read.day(day), units=_float(units))
                for day, units in (binding.get("target_shortfall") or {}).items()
            ],
            missing=[
                StepUnitsType(step=step, units=_float(units))
                for step, units in (binding.get("missing") or {}).items()
            ],
            risk=[
                WeakPointType(
                    step=w["step"],
                    factory=read.factory(w["factory"])[0],
                    process=read.factory(w["factory"])[1],
                    capacity_left_per_day=_float(w.get("capacity_left_per_day")),
                    daily_need=_float(w.get("daily_need")),
                    shortfall_per_day=_float(w.get("shortfall_per_day")),
                )
                for w in data.get("risk") or ()
            ],
        )


def _step(read: _Reader, step: Mapping[str, Any]) -> StepExplanationType:
    window = step.get("window") or (None, None)
    return StepExplanationType(
        step=step["step"],
        required_units=float(step.get("required_units", 0.0)),
        made_units=float(step.get("made_units", 0.0)),
        first_day=read.day(window[0]),
        last_day=read.day(window[1]),
        eligible_factories=int(step.get("eligible_factories", 0)),
        share_cap_units=_float(step.get("share_cap_units")),
        used=[
            FactoryUseType(
                factory=read.factory(u["factory"])[0],
                process=read.factory(u["factory"])[1],
                units=float(u["units"]),
                share=float(u.get("share", 0.0)),
                cost_per_unit=_float(u.get("cost_per_unit")),
                cost_rank=int(u.get("cost_rank", 0)),
                hours_used=float(u.get("hours_used", 0.0)),
                hours_available=float(u.get("hours_available", 0.0)),
                full_days=int(u.get("full_days", 0)),
                days_worked=int(u.get("days_worked", 0)),
                at_share_cap=bool(u.get("at_share_cap", False)),
                reason=str(u.get("reason", "")),
            )
            for u in step.get("used") or ()
        ],
        unused=[
            FactoryUnusedType(
                factory=read.factory(u["factory"])[0],
                process=read.factory(u["factory"])[1],
                cost_per_unit=_float(u.get("cost_per_unit")),
                cost_rank=int(u.get("cost_rank", 0)),
                reason=str(u.get("reason", "")),
            )
            for u in step.get("unused") or ()
        ],
    )


@strawberry.type(name="ReplanChange", description="Units of a step a factory gained or lost.")
class ReplanChangeType:
    step: str
    factory: str
    process: str
    added: float
    removed: float


@strawberry.type(name="ReportAhead", description="Work reported beyond the new plan's need.")
class ReportAheadType:
    step: str
    factory: str
    day: dt.date | None
    reported: float | None
    kept: float | None


@strawberry.type(name="ReplanEffect")
class ReplanEffectType:
    as_of: dt.date | None = strawberry.field(description="Re-planned from this day on.")
    units_moved: float | None = strawberry.field(
        description="Units moved between factory-days (a unit moved counts twice)."
    )
    units_added: float | None
    units_removed: float | None
    output_before: list[DayUnitsType] = strawberry.field(
        description="Finished products a day under the previous plan."
    )
    output_after: list[DayUnitsType]
    missed_days: list[DayUnitsType] = strawberry.field(
        description="Days behind the cumulative target under the new plan."
    )
    newly_missed: list[DayUnitsType] = strawberry.field(
        description="Days missed now that were not before."
    )
    changes: list[ReplanChangeType]
    reports_ahead: list[ReportAheadType]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReplanEffectType:
        read = _Reader(data)
        as_of = data.get("as_of")

        def days(values: Any) -> list[DayUnitsType]:
            pairs = values.items() if isinstance(values, Mapping) else enumerate(values or ())
            return [DayUnitsType(day=read.day(day), units=_float(units)) for day, units in pairs]

        return cls(
            as_of=dt.date.fromisoformat(as_of) if isinstance(as_of, str) else None,
            units_moved=_float(data.get("units_moved")),
            units_added=_float(data.get("units_added")),
            units_removed=_float(data.get("units_removed")),
            output_before=days(data.get("output_before")),
            output_after=days(data.get("output_after")),
            missed_days=days(data.get("missed_days")),
            newly_missed=days(data.get("newly_missed")),
            changes=[
                ReplanChangeType(
                    step=c["step"],
                    factory=read.factory(c["factory"])[0],
                    process=read.factory(c["factory"])[1],
                    added=float(c.get("added", 0.0)),
                    removed=float(c.get("removed", 0.0)),
                )
                for c in data.get("changes") or ()
            ],
            reports_ahead=[
                ReportAheadType(
                    step=r["step"],
                    factory=str(r["factory"]),
                    day=dt.date.fromisoformat(r["day"]) if r.get("day") else None,
                    reported=_float(r.get("reported")),
                    kept=_float(r.get("kept")),
                )
                for r in data.get("reports_ahead") or ()
            ],
        )
