"""Configurable products as data: options whose values change the base routing (steps added,
removed or changed, with the equipment and skills they need) and the bill of materials,
validated before anything is stored.

    {"options": [
        {"name": "colour", "kind": "colour", "values": [
            {"value": "black"},
            {"value": "signal-red",
             "bom": [{"item": "masterbatch-red", "quantity": 0.02, "unit": "kg"}]}]},
        {"name": "finish", "kind": "material", "values": [
            {"value": "plain"},
            {"value": "chrome", "routing": [
                {"op": "add", "step": {"id": "plate", "process": "plating",
                                       "after": ["pc-board"], "hours_per_unit": 0.01,
                                       "unit_cost": 0.4, "lag_days": 1}}]}]}]}

A SKU is the product with one value chosen for every option. Its routing variant is the base
routing with the chosen values' changes applied in option order; SKUs whose values make the same
changes share a variant, and a production lot is one variant in one week.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

from regional_node.demand.errors import ProductInvalid
from regional_node.orders import routings
from regional_node.orders.errors import RoutingInvalid
from regional_node.orders.routings import RoutingSpec, RoutingStep

OPTION_KINDS = ("colour", "material", "size", "personalisation")
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
"""Option names and values, and SKU variants' routing names, stay well inside a routing's slug."""
ITEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
MAX_OPTIONS = 8
MAX_VALUES = 50
MAX_CHANGES = 20
MAX_BOM = 100
STEP_KEYS = frozenset(
    {
        "name", "process", "equipment", "parameters", "skills", "after", "hours_per_unit",
        "unit_cost", "yield", "lag_days",
    }
)  # fmt: skip
"""What a `change` may set on a step (all but its id)."""


@dataclass(frozen=True)
class BomLine:
    item: str
    quantity: float
    """Per unit of the product."""
    unit: str = "pcs"

    def as_json(self) -> dict[str, Any]:
        return {"item": self.item, "quantity": self.quantity, "unit": self.unit}


@dataclass(frozen=True)
class RoutingChange:
    op: Literal["add", "remove", "change"]
    step: str
    """The step's id."""
    fields: tuple[tuple[str, Any], ...] = ()
    """`add`: the new step (without its id); `change`: the fields set on the existing step."""

    def as_json(self) -> dict[str, Any]:
        if self.op == "remove":
            return {"op": "remove", "step": self.step}
        if self.op == "add":
            return {"op": "add", "step": {"id": self.step, **dict(self.fields)}}
        return {"op": "change", "step": self.step, "set": dict(self.fields)}


@dataclass(frozen=True)
class OptionValue:
    value: str
    routing: tuple[RoutingChange, ...] = ()
    bom: tuple[BomLine, ...] = ()
    """Lines added to the base bill, or replacing its line of the same item (quantity 0 drops
    it)."""

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"value": self.value}
        if self.routing:
            data["routing"] = [c.as_json() for c in self.routing]
        if self.bom:
            data["bom"] = [line.as_json() for line in self.bom]
        return data


@dataclass(frozen=True)
class Option:
    name: str
    kind: str
    values: tuple[OptionValue, ...]

    def value(self, chosen: str) -> OptionValue | None:
        return next((v for v in self.values if v.value == chosen), None)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "values": [v.as_json() for v in self.values]}


@dataclass(frozen=True)
class Configuration:
    """A product's options and base bill of materials."""

    options: tuple[Option, ...] = ()
    bom: tuple[BomLine, ...] = ()

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)

    def options_json(self) -> list[dict[str, Any]]:
        return [o.as_json() for o in self.options]

    def bom_json(self) -> list[dict[str, Any]]:
        return [line.as_json() for line in self.bom]


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_bom(raw: Any, where: str) -> tuple[BomLine, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_BOM:
        raise ProductInvalid(f"{where}: a list of at most {MAX_BOM} lines")
    lines: list[BomLine] = []
    seen: set[str] = set()
    for index, line in enumerate(raw):
        at = f"{where}[{index}]"
        if not isinstance(line, Mapping) or set(line) - {"item", "quantity", "unit"}:
            raise ProductInvalid(f"{at}: a line with item, quantity and unit")
        item, quantity, unit = line.get("item"), line.get("quantity"), line.get("unit", "pcs")
        if not isinstance(item, str) or not ITEM.match(item):
            raise ProductInvalid(f"{at}.item: 1 to 100 letters, digits, '.', '_', '/' or '-'")
        if item in seen:
            raise ProductInvalid(f"{at}.item: {item} is given twice")
        seen.add(item)
        if not _number(quantity) or not 0 <= quantity <= 1e6:
            raise ProductInvalid(f"{at}.quantity: a number, 0 to 1e6 (per unit of the product)")
        if not isinstance(unit, str) or not 1 <= len(unit) <= 16:
            raise ProductInvalid(f"{at}.unit: 1 to 16 characters")
        lines.append(BomLine(item=item, quantity=float(quantity), unit=unit))
    return tuple(lines)


def _changes(raw: Any, where: str) -> tuple[RoutingChange, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_CHANGES:
        raise ProductInvalid(f"{where}: a list of at most {MAX_CHANGES} changes")
    changes: list[RoutingChange] = []
    for index, change in enumerate(raw):
        at = f"{where}[{index}]"
        if not isinstance(change, Mapping):
            raise ProductInvalid(f"{at}: a change with op and step")
        op = change.get("op")
        if op == "add":
            if set(change) != {"op", "step"} or not isinstance(change["step"], Mapping):
                raise ProductInvalid(f"{at}: add takes a step, e.g. {{id, process, ...}}")
            step = dict(change["step"])
            step_id = step.pop("id", None)
            if not isinstance(step_id, str) or not routings.SLUG.match(step_id):
                raise ProductInvalid(f"{at}.step.id: a lowercase slug")
            unknown = set(step) - STEP_KEYS
            if unknown:
                raise ProductInvalid(f"{at}.step: unknown keys {', '.join(sorted(unknown))}")
            changes.append(RoutingChange("add", step_id, tuple(sorted(step.items()))))
        elif op in ("remove", "change"):
            step_id = change.get("step")
            if not isinstance(step_id, str) or not routings.SLUG.match(step_id):
                raise ProductInvalid(f"{at}.step: the id of a step of the base routing")
            if op == "remove":
                if set(change) != {"op", "step"}:
                    raise ProductInvalid(f"{at}: remove takes only the step's id")
                changes.append(RoutingChange("remove", step_id))
                continue
            updates = change.get("set")
            if set(change) != {"op", "step", "set"} or not isinstance(updates, Mapping):
                raise ProductInvalid(f"{at}: change takes the step's id and `set`, the new fields")
            unknown = set(updates) - STEP_KEYS
            if unknown or not updates:
                raise ProductInvalid(
                    f"{at}.set: one or more of {', '.join(sorted(STEP_KEYS))}"
                    + (f" (not {', '.join(sorted(unknown))})" if unknown else "")
                )
            changes.append(RoutingChange("change", step_id, tuple(sorted(updates.items()))))
        else:
            raise ProductInvalid(f"{at}.op: add, remove or change")
    return tuple(changes)


def parse(options: Any, bom: Any = ()) -> Configuration:
    """A product's options and base bill from their JSON form; ProductInvalid names the place."""
    if not isinstance(options, list) or len(options) > MAX_OPTIONS:
        raise ProductInvalid(f"options: a list of at most {MAX_OPTIONS} options")
    parsed: list[Option] = []
    for index, raw in enumerate(options):
        at = f"options[{index}]"
        if not isinstance(raw, Mapping) or set(raw) - {"name", "kind", "values"}:
            raise ProductInvalid(f"{at}: an option with name, kind and values")
        name, kind, values = raw.get("name"), raw.get("kind"), raw.get("values")
        if not isinstance(name, str) or not NAME.match(name):
            raise ProductInvalid(f"{at}.name: a lowercase slug of at most 40 characters")
        if any(o.name == name for o in parsed):
            raise ProductInvalid(f"{at}.name: option {name} is given twice")
        if kind not in OPTION_KINDS:
            raise ProductInvalid(f"{at}.kind: one of {', '.join(OPTION_KINDS)}")
        if not isinstance(values, list) or not 1 <= len(values) <= MAX_VALUES:
            raise ProductInvalid(f"{at}.values: 1 to {MAX_VALUES} values")
        parsed_values: list[OptionValue] = []
        for v_index, value in enumerate(values):
            v_at = f"{at}.values[{v_index}]"
            if not isinstance(value, Mapping) or set(value) - {"value", "routing", "bom"}:
                raise ProductInvalid(f"{v_at}: a value with value, routing and bom")
            text = value.get("value")
            if not isinstance(text, str) or not NAME.match(text):
                raise ProductInvalid(f"{v_at}.value: a lowercase slug of at most 40 characters")
            if any(v.value == text for v in parsed_values):
                raise ProductInvalid(f"{v_at}.value: {text} is given twice")
            parsed_values.append(
                OptionValue(
                    value=text,
                    routing=_changes(value.get("routing", []), f"{v_at}.routing"),
                    bom=parse_bom(value.get("bom", []), f"{v_at}.bom"),
                )
            )
        parsed.append(Option(name=name, kind=str(kind), values=tuple(parsed_values)))
    return Configuration(options=tuple(parsed), bom=parse_bom(list(bom), "bom"))


@dataclass(frozen=True)
class Choice:
    """A SKU's chosen values, in the product's option order."""

    values: tuple[tuple[Option, OptionValue], ...]

    @property
    def changes(self) -> tuple[RoutingChange, ...]:
        return tuple(c for _, value in self.values for c in value.routing)

    @property
    def variant(self) -> str:
        """Names the routing changes: "" for the base routing, else 10 hex digits of their
        digest. SKUs whose values change the routing alike share it."""
        if not self.changes:
            return ""
        canonical = json.dumps([c.as_json() for c in self.changes], sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:10]

    def as_json(self) -> dict[str, str]:
        return {option.name: value.value for option, value in self.values}


def choose(configuration: Configuration, chosen: Mapping[str, str]) -> Choice:
    """Every option given one of its values, nothing else."""
    unknown = set(chosen) - {o.name for o in configuration.options}
    if unknown:
        raise ProductInvalid(f"options: the product has no option {', '.join(sorted(unknown))}")
    picked: list[tuple[Option, OptionValue]] = []
    for option in configuration.options:
        if option.name not in chosen:
            raise ProductInvalid(f"options: choose a value for {option.name}")
        value = option.value(chosen[option.name])
        if value is None:
            known = ", ".join(v.value for v in option.values)
            raise ProductInvalid(
                f"options.{option.name}: {chosen[option.name]!r} is not one of {known}"
            )
        picked.append((option, value))
    return Choice(values=tuple(picked))


def bill(configuration: Configuration, choice: Choice) -> tuple[BomLine, ...]:
    """The SKU's bill: the base lines, with each chosen value's lines added or replacing those
    of the same item; lines of quantity 0 dropped."""
    lines = {line.item: line for line in configuration.bom}
    for _, value in choice.values:
        for line in value.bom:
            lines[line.item] = line
    return tuple(line for line in lines.values() if line.quantity > 0)


def apply_changes(
    base: Sequence[RoutingStep], changes: Sequence[RoutingChange], *, where: str = "routing"
) -> list[dict[str, Any]]:
    """The base routing's steps (as stored) with the changes applied in order. A removed step's
    successors take its predecessors, so the chain stays connected."""
    steps = [step.as_json() for step in base]
    for change in changes:
        ids = [s["id"] for s in steps]
        if change.op == "add":
            if change.step in ids:
                raise ProductInvalid(f"{where}: step {change.step} is already there")
            steps.append({"id": change.step, **dict(change.fields)})
        elif change.step not in ids:
            raise ProductInvalid(
                f"{where}: no step {change.step} to {change.op} (steps: {', '.join(ids)})"
            )
        elif change.op == "remove":
            gone = next(s for s in steps if s["id"] == change.step)
            steps = [s for s in steps if s["id"] != change.step]
            for step in steps:
                after = list(step.get("after", []))
                if change.step in after:
                    index = after.index(change.step)
                    relinked = [a for a in gone.get("after", []) if a not in after]
                    step["after"] = after[:index] + relinked + after[index + 1 :]
        else:
            steps = [{**s, **dict(change.fields)} if s["id"] == change.step else s for s in steps]
    if not steps:
        raise ProductInvalid(f"{where}: the changes leave no step")
    return steps


def variant_routing(
    base_steps: Sequence[RoutingStep], unit: str, product_slug: str, choice: Choice, *, name: str
) -> RoutingSpec:
    """The routing an order for SKUs of this choice is made on: the base routing changed by the
    choice, as a routing product of its own (`variant_product`), validated as any routing."""
    steps = apply_changes(base_steps, choice.changes, where=f"variant {choice.variant}")
    try:
        return routings.from_mapping(
            {
                "product": variant_product(product_slug, choice.variant),
                "name": name[:200],
                "unit": unit,
                "steps": steps,
            },
            source=f"variant {choice.variant} of {product_slug}",
        )
    except RoutingInvalid as exc:
        raise ProductInvalid(exc.detail) from exc


def variant_product(product_slug: str, variant: str) -> str:
    """The routing product of a variant's orders: `c2m-<product>-<variant>` (a name of the
    demand domain's own, so that it never meets a routing the operator imported)."""
    return f"c2m-{product_slug}-{variant}"
