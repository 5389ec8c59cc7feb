"""The node's data products: what each one holds, and its rows computed from the database now.

A product is a definition (schema in the exchange's vocabulary, default usage-policy offers)
and a producer. Rows are keyed by a stable string, so the outbox can send only what changed,
and come in key order, so the same data always gives the same batches. Values are plain JSON
(dates as ISO strings): what the hub receives is what the hash was taken of.

Factories appear only while active: an invited, suspended or rejected factory is not on offer.
The capacity product names its factories by pseudonym only: its offers let consumers see
aggregates over several factories, never which factory has which free hours.
The workforce product carries lent workers as pseudonymous offers and worker-days per skill and
week: never a name, a contact, coordinates or the employer, which the node keeps to itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.data_products.repository import SourceRepository
from regional_node.factories.models import Factory
from regional_node.orders import planning
from regional_node.read_models import factory_evaluation as evaluation
from regional_node.settings import NodeSettings
from regional_node.workforce.models import WorkforceWorker
from yunfab.db import utcnow
from yunfab.usage_policy import (
    MAX_SAMPLE_ROWS,
    FieldRole,
    FieldSpec,
    FieldType,
    Frequency,
    ProductDefinition,
    UsagePolicy,
)

CAPACITY_WEEKS = 9
"""The current ISO week and the next eight."""
ALL_KINDS = ["consumer", "publisher", "node_operator", "factory", "hub_operator"]


def _field(name: str, type: str, role: str, description: str) -> FieldSpec:
    return FieldSpec(name=name, type=FieldType(type), role=FieldRole(role), description=description)


@dataclass(frozen=True)
class Row:
    key: str
    data: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {"key": self.key, "data": self.data}


@dataclass(frozen=True)
class ProducerContext:
    """What a producer needs besides the database: who this node is, and which day it is."""

    node_name: str
    region: str
    industry: str
    today: dt.date = field(default_factory=lambda: utcnow().date())

    @classmethod
    def of(cls, settings: NodeSettings) -> ProducerContext:
        return cls(node_name=settings.name, region=settings.region, industry=settings.industry)


Producer = Callable[[AsyncSession, ProducerContext], Awaitable[list[Row]]]


@dataclass(frozen=True)
class DataProduct:
    key: str
    title: str
    description: str
    update_frequency: Frequency
    schema: tuple[FieldSpec, ...]
    offers: tuple[UsagePolicy, ...]
    produce: Producer
    public_sample: bool = False
    """Whether real rows may go into the catalog's sample: only for public information, as
    the catalog shows the sample to everyone who browses it."""

    async def rows(self, session: AsyncSession, context: ProducerContext) -> list[Row]:
        return sorted(await self.produce(session, context), key=lambda row: row.key)

    def definition(self, context: ProducerContext, rows: Sequence[Row]) -> dict[str, Any]:
        """The body of `PUT /api/v1/data-products/{key}` at the hub, checked against the
        exchange's vocabulary before it leaves."""
        definition = ProductDefinition(
            title=self.title,
            description=self.description,
            region=context.region,
            industry=context.industry,
            update_frequency=self.update_frequency,
            fields=list(self.schema),
            sample=[row.data for row in rows[:MAX_SAMPLE_ROWS]] if self.public_sample else [],
            live=True,
            offers=list(self.offers),
        )
        return definition.model_dump(mode="json", by_alias=True, exclude_none=True)


def pseudonym(node_name: str, factory_id: uuid.UUID) -> str:
    """A factory's name in aggregate-only products: stable on this node, not reversible to it
    without the node's factory ids."""
    return hashlib.sha256(f"{node_name}{factory_id}".encode()).hexdigest()[:16]


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _region(factory: Factory, context: ProducerContext) -> str:
    region = factory.location.get("region")
    return str(region) if region else context.region


def _city(factory: Factory) -> str | None:
    city = factory.location.get("city")
    return str(city) if city else None


HOURS = "hours"
UNITS = "units"
"""A capacity calendar gives a process hours, or units of its steps' output a day."""


@dataclass
class _Week:
    calendar: bool = False
    """Whether the calendar gives the process any day of the week in this unit."""
    available: float = 0.0
    booked: float = 0.0
    """In the row's unit."""
    booked_hours: float = 0.0


async def regional_capacity(session: AsyncSession, context: ProducerContext) -> list[Row]:
    """A row per factory, process, ISO week and the unit of its calendar: free capacity in
    that unit (hours or units), and hours wherever they are known. A calendar in units
    says nothing of hours (they depend on the step), so its rows carry booked hours only."""
    first = context.today - dt.timedelta(days=context.today.weekday())
    last = first + dt.timedelta(weeks=CAPACITY_WEEKS, days=-1)
    sources = SourceRepository(session)
    factories = {f.id: f for f in await sources.active_factories()}
    down = await planning.down_days(session, first, last)
    weeks: dict[tuple[uuid.UUID, str, str, str], _Week] = {}
    unit_of: dict[tuple[uuid.UUID, str, dt.date], str] = {}
    for entry in await sources.capacity(factories, first, last):
        unit = HOURS if entry.available_hours is not None else UNITS
        unit_of[(entry.factory_id, entry.process, entry.day)] = unit
        key = (entry.factory_id, entry.process, iso_week(entry.day), unit)
        cell = weeks.setdefault(key, _Week())
        cell.calendar = True
        if entry.available_hours is not None:
            amount = max(0.0, entry.available_hours - entry.downtime_hours)
        else:
            amount = float(entry.available_units or 0)
        if {
            (entry.factory_id, entry.process, entry.day),
            (entry.factory_id, None, entry.day),
        } & down:
            amount = 0.0
        cell.available += amount
    for (factory_id, process, day), booking in (
        await planning.bookings(session, first, last)
    ).items():
        if factory_id not in factories:
            continue
        unit = unit_of.get((factory_id, process, day), HOURS)
        cell = weeks.setdefault((factory_id, process, iso_week(day), unit), _Week())
        cell.booked += booking.hours if unit == HOURS else booking.units
        cell.booked_hours += booking.hours
    rows = []
    for (factory_id, process, week, unit), cell in weeks.items():
        factory = factories[factory_id]
        who = pseudonym(context.node_name, factory_id)
        available = round(cell.available, 3) if cell.calendar else None
        booked = round(cell.booked, 3)
        free = None if available is None else round(max(0.0, available - booked), 3)
        rows.append(
            Row(
                key=f"{process}:{week}:{unit}:{who}",
                data={
                    "factory": who,
                    "region": _region(factory, context),
                    "city": _city(factory),
                    "process": process,
                    "week": week,
                    "unit": unit,
                    "available": available,
                    "booked": booked,
                    "free": free,
                    "available_hours": available if unit == HOURS else None,
                    "booked_hours": round(cell.booked_hours, 3),
                    "free_hours": free if unit == HOURS else None,
                },
            )
        )
    return rows


async def factory_profiles(session: AsyncSession, context: ProducerContext) -> list[Row]:
    sources = SourceRepository(session)
    equipment = await sources.equipment_types()
    return [
        Row(
            key=factory.slug,
            data={
                "factory": factory.slug,
                "name": factory.name,
                "region": _region(factory, context),
                "city": _city(factory),
                "skills": list(factory.skills),
                "equipment": equipment.get(factory.id, []),
                "certifications": [str(cert["name"]) for cert in factory.certifications],
                "products": list(factory.products),
            },
        )
        for factory in await sources.active_factories()
    ]


SCORE_FIELDS = {
    "development_capability": "development",
    "quality_control": "quality",
    "quick_response": "response",
    "delivery": "delivery",
}


async def factory_scores(session: AsyncSession, context: ProducerContext) -> list[Row]:
    rows = []
    for factory in await SourceRepository(session).active_factories():
        result = await evaluation.evaluate(session, factory)
        scores = {SCORE_FIELDS[s.name]: s.value for s in result.scores if s.name in SCORE_FIELDS}
        rows.append(
            Row(
                key=factory.slug,
                data={
                    "factory": factory.slug,
                    "name": factory.name,
                    "region": _region(factory, context),
                    **{name: scores.get(name) for name in SCORE_FIELDS.values()},
                    "computed_on": result.computed_at.date().isoformat(),
                },
            )
        )
    return rows


OFFER = "offer"
SKILL_WEEK = "skill-week"


def _offer(worker: WorkforceWorker, who: str, context: ProducerContext) -> Row:
    """What the hub may know of a lent worker. Built field by field from the profile: the
    contact lives in another table and is never read here; the employer is named by region
    only, coordinates not at all (the home area is a town or district)."""
    return Row(
        key=f"{OFFER}:{who}",
        data={
            "kind": OFFER,
            "worker": who,
            "region": context.region,
            "home_area": worker.home_area,
            "skills": [f"{skill}:{level}" for skill, level in sorted(worker.skills.items())],
            "certificates": sorted(worker.certificates),
            "safety_trained": worker.safety_trained,
            "available_from": worker.available_from.isoformat(),
            "available_to": worker.available_to.isoformat(),
            "shifts": list(worker.shifts),
            "radius_km": worker.radius_km,
            "wage_floor": worker.wage_floor,
            "skill": None,
            "week": None,
            "workers": None,
            "worker_days": None,
        },
    )


async def workforce_offers(session: AsyncSession, context: ProducerContext) -> list[Row]:
    """A row per worker still available (the offer), and a row per skill and ISO week of the
    current week and the next eight: how many of those workers have the skill and are
    available some day of the week, and their days together (a worker counts once a day
    whatever the shifts; days already promised to an accepted proposal are not taken off)."""
    first = context.today - dt.timedelta(days=context.today.weekday())
    last = first + dt.timedelta(weeks=CAPACITY_WEEKS, days=-1)
    rows = []
    weeks: dict[tuple[str, str], tuple[set[str], int]] = {}
    for worker in await SourceRepository(session).open_workers(context.today):
        who = pseudonym(context.node_name, worker.id)
        rows.append(_offer(worker, who, context))
        day = max(worker.available_from, context.today)
        while day <= min(worker.available_to, last):
            for skill in worker.skills:
                workers, days = weeks.get((skill, iso_week(day)), (set(), 0))
                workers.add(who)
                weeks[(skill, iso_week(day))] = (workers, days + 1)
            day += dt.timedelta(days=1)
    for (skill, week), (workers, days) in weeks.items():
        rows.append(
            Row(
                key=f"{SKILL_WEEK}:{skill}:{week}",
                data={
                    "kind": SKILL_WEEK,
                    "worker": None,
                    "region": context.region,
                    "home_area": None,
                    "skills": None,
                    "certificates": None,
                    "safety_trained": None,
                    "available_from": None,
                    "available_to": None,
                    "shifts": None,
                    "radius_km": None,
                    "wage_floor": None,
                    "skill": skill,
                    "week": week,
                    "workers": len(workers),
                    "worker_days": days,
                },
            )
        )
    return rows


_FACTORY_SLUG = _field("factory", "string", "contributor", "The factory's short name on this node.")
_NAME = _field("name", "string", "attribute", "The factory's legal name.")
_REGION = _field("region", "string", "region", "ISO 3166-2 code of the factory's region.")
_CAPACITY = (
    _field("factory", "string", "contributor", "Pseudonym of the contributing factory."),
    _REGION,
    _field("city", "string", "dimension", "The city the factory is in."),
    _field("process", "string", "dimension", "The process, e.g. weaving."),
    _field("week", "string", "dimension", "ISO week, e.g. 2026-W48."),
    _field(
        "unit",
        "string",
        "dimension",
        "The calendar's unit: hours, or units (output of the process's steps). Group or "
        "filter by it before adding up available, booked or free.",
    ),  # fmt: skip
    _field(
        "available",
        "number",
        "measure",
        "What the calendar gives the process, in `unit`: hours less downtime, or units; "
        "nothing on days of a reported breakdown.",
    ),  # fmt: skip
    _field("booked", "number", "measure", "What the plans of open orders hold, in `unit`."),
    _field("free", "number", "measure", "Available, not booked, in `unit`."),
    _field(
        "available_hours",
        "number",
        "measure",
        "Hours the calendar gives the process (null for a calendar in units).",
    ),  # fmt: skip
    _field("booked_hours", "number", "measure", "Hours the plans of open orders hold."),
    _field(
        "free_hours",
        "number",
        "measure",
        "Available hours not booked (null for a calendar in units).",
    ),  # fmt: skip
)

REGIONAL_CAPACITY = DataProduct(
    key="regional-capacity",
    title="Regional capacity by process and week",
    description="What the node's active factories can give each process per ISO week, for "
    "the current week and the next eight, in the unit of their calendars (hours or units): "
    "available (calendar less downtime and breakdowns), already booked by the plans of open "
    "orders, and free; hours too where the calendar is in hours. Factories appear under a "
    "pseudonym.",
    update_frequency=Frequency.HOURLY,
    schema=_CAPACITY,
    offers=(
        UsagePolicy.model_validate(
            {
                "consumers": {"kinds": ["consumer", "publisher", "node_operator", "factory"]},
                "purposes": ["capacity-planning", "supply-matching", "research"],
                "fields": [f.name for f in _CAPACITY if f.role is not FieldRole.CONTRIBUTOR],
                "aggregation": {"min_contributors": 3},
                "retention_days": 30,
                "contract_days": 90,
                "onward_sharing": False,
                "fresh_data": True,
                "approval": "automatic",
            }
        ),
    ),
    produce=regional_capacity,
)

FACTORY_PROFILES = DataProduct(
    key="factory-profiles",
    title="Factory capability profiles",
    description="Public profiles of the node's active factories: where they are, their "
    "special skills, kinds of equipment, certifications and products.",
    update_frequency=Frequency.DAILY,
    schema=(
        _FACTORY_SLUG,
        _NAME,
        _REGION,
        _field("city", "string", "attribute", "The city the factory is in."),
        _field("skills", "string_list", "attribute", "Special skills."),
        _field("equipment", "string_list", "attribute", "Kinds of equipment the factory has."),
        _field("certifications", "string_list", "attribute", "Names of its certifications."),
        _field("products", "string_list", "attribute", "What it makes."),
    ),
    offers=(
        UsagePolicy.model_validate(
            {
                "consumers": {"kinds": list(ALL_KINDS)},
                "purposes": [
                    "supply-matching",
                    "capacity-planning",
                    "supplier-selection",
                    "public-information",
                ],
                "retention_days": 365,
                "contract_days": 365,
                "onward_sharing": False,
                "fresh_data": True,
                "approval": "automatic",
            }
        ),
    ),
    produce=factory_profiles,
    public_sample=True,
)

FACTORY_SCORES = DataProduct(
    key="factory-scores",
    title="Factory evaluation scores",
    description="The node's evaluation of its active factories, 0-100 over the last 90 days: "
    "development capability, quality control, quick response and delivery (null while the "
    "node has no data for a score).",
    update_frequency=Frequency.DAILY,
    schema=(
        _FACTORY_SLUG,
        _NAME,
        _REGION,
        _field("development", "number", "measure", "Development capability, 0-100."),
        _field("quality", "number", "measure", "Quality control, 0-100."),
        _field("response", "number", "measure", "Quick response to alerts, 0-100."),
        _field("delivery", "number", "measure", "Delivery against daily plans, 0-100."),
        _field("computed_on", "date", "attribute", "The day the scores were computed."),
    ),
    offers=(
        UsagePolicy.model_validate(
            {
                "consumers": {"kinds": ["consumer", "publisher"]},
                "purposes": ["credit-assessment", "supplier-selection"],
                "retention_days": 30,
                "contract_days": 180,
                "onward_sharing": False,
                "fresh_data": False,
                "approval": "provider",
            }
        ),
    ),
    produce=factory_scores,
)

_WORKFORCE = (
    _field("kind", "string", "dimension", "offer (one lent worker) or skill-week (a total)."),
    _field(
        "worker",
        "string",
        "contributor",
        "Offers: the worker's pseudonym across nodes, stable on this node and not the one "
        "the node shows its own factories.",
    ),  # fmt: skip
    _field("region", "string", "region", "ISO 3166-2 code of the employer's region."),
    _field("home_area", "string", "dimension", "Offers: the town or district the worker lives in."),
    _field("skills", "string_list", "attribute", "Offers: skill:level, levels 1-5."),
    _field("certificates", "string_list", "attribute", "Offers: certificates held."),
    _field("safety_trained", "boolean", "attribute", "Offers: safety training done."),
    _field("available_from", "date", "attribute", "Offers: the first day available."),
    _field("available_to", "date", "attribute", "Offers: the last day available."),
    _field("shifts", "string_list", "attribute", "Offers: shifts the worker takes."),
    _field("radius_km", "number", "attribute", "Offers: how far from home the worker travels."),
    _field("wage_floor", "number", "attribute", "Offers: the lowest day wage accepted."),
    _field("skill", "string", "dimension", "Totals: the skill."),
    _field("week", "string", "dimension", "Totals: ISO week, e.g. 2026-W48."),
    _field("workers", "integer", "measure", "Totals: workers with the skill free that week."),
    _field("worker_days", "integer", "measure", "Totals: their available days that week."),
)

WORKFORCE_OFFERS = DataProduct(
    key="workforce-offers",
    title="Shared workers on offer",
    description="Workers the node's factories and labour services lend, as pseudonymous "
    "offers (skills with levels, certificates, dates and shifts, home town or district, "
    "travel radius, wage floor; no names, contacts or employers), and available worker-days "
    "per skill and ISO week for the current week and the next eight.",
    update_frequency=Frequency.HOURLY,
    schema=_WORKFORCE,
    offers=(
        UsagePolicy.model_validate(
            {
                "consumers": {"kinds": ["factory", "node_operator", "consumer"]},
                "purposes": ["supply-matching", "research"],
                "retention_days": 30,
                "contract_days": 90,
                "onward_sharing": False,
                "fresh_data": True,
                "approval": "automatic",
            }
        ),
    ),
    produce=workforce_offers,
)

PRODUCTS: Mapping[str, DataProduct] = {
    product.key: product
    for product in (REGIONAL_CAPACITY, FACTORY_PROFILES, FACTORY_SCORES, WORKFORCE_OFFERS)
}


def configured(keys: Sequence[str]) -> dict[str, DataProduct]:
    """The products a node's settings publish, in the order given, each once."""
    return {key: PRODUCTS[key] for key in dict.fromkeys(keys)}
