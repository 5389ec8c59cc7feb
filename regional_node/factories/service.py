"""Factories on a node: invitation, profile, onboarding review, capacity calendar.

Onboarding runs invited -> submitted -> verified -> active, or submitted -> rejected (with a
reason; the factory fixes its profile and submits again); an active factory may be suspended (with
a reason) and reactivated. Each change is decided by the policy for the acting subject and this
factory, and written to the node's audit chain in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.audit.service import append_entry
from regional_node.factories.errors import (
    FactoryExists,
    FactoryNotFound,
    ProfileIncomplete,
    TransitionNotAllowed,
)
from regional_node.factories.models import CapacityDay, Equipment, Factory, FactoryStatus
from regional_node.factories.repository import FactoryFilter, FactoryRepository
from yunfab.db import utcnow
from yunfab.errors import InvalidInput, YunfabError
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject, canonical_org_id

if TYPE_CHECKING:
    from regional_node.runtime import NodeRuntime

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
MAX_EQUIPMENT = 200
MAX_LIST = 100
MAX_CAPACITY_DAYS = 1000


class Transition(enum.StrEnum):
    SUBMIT = "submit"
    VERIFY = "verify"
    REJECT = "reject"
    ACTIVATE = "activate"
    SUSPEND = "suspend"
    REACTIVATE = "reactivate"


_MOVES: dict[Transition, tuple[frozenset[FactoryStatus], FactoryStatus]] = {
    Transition.SUBMIT: (
        frozenset({FactoryStatus.INVITED, FactoryStatus.REJECTED}),
        FactoryStatus.SUBMITTED,
    ),
    Transition.VERIFY: (frozenset({FactoryStatus.SUBMITTED}), FactoryStatus.VERIFIED),
    Transition.REJECT: (
        frozenset({FactoryStatus.SUBMITTED, FactoryStatus.VERIFIED}),
        FactoryStatus.REJECTED,
    ),
    Transition.ACTIVATE: (frozenset({FactoryStatus.VERIFIED}), FactoryStatus.ACTIVE),
    Transition.SUSPEND: (frozenset({FactoryStatus.ACTIVE}), FactoryStatus.SUSPENDED),
    Transition.REACTIVATE: (frozenset({FactoryStatus.SUSPENDED}), FactoryStatus.ACTIVE),
}
_NEEDS_REASON = {Transition.REJECT, Transition.SUSPEND}
_ACTION: dict[Transition, str] = {
    t: "node.factory.submit" if t is Transition.SUBMIT else "node.factory.review"
    for t in Transition
}


def factory_resource(factory: Factory) -> dict[str, Any]:
    """How the policy sees a factory: `org` makes decisions by other organizations audited."""
    return {"factory": factory.slug, "org": canonical_org_id(factory.organization_id)}


@dataclass(frozen=True)
class NewFactory:
    slug: str
    name: str
    organization_id: str | None = None
    contact: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EquipmentInput:
    type: str
    model: str
    count: int
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProfileInput:
    name: str | None = None
    location: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    skills: list[str] | None = None
    certifications: list[dict[str, Any]] | None = None
    products: list[str] | None = None
    equipment: list[EquipmentInput] | None = None
    """Replaces the whole equipment list when given."""


@dataclass(frozen=True)
class CapacityInput:
    process: str
    day: dt.date
    available_hours: float | None = None
    available_units: int | None = None
    downtime_hours: float = 0.0
    hourly_rate: float | None = None
    note: str | None = None


async def get_factory(session: AsyncSession, factory_id: uuid.UUID) -> Factory:
    factory = await session.get(Factory, factory_id)
    if factory is None:
        raise FactoryNotFound(f"no factory {factory_id} on this node")
    return factory


async def get_factory_by_slug(session: AsyncSession, slug: str) -> Factory:
    factory = await FactoryRepository(session).get_by_slug(slug)
    if factory is None:
        raise FactoryNotFound(f"no factory {slug!r} on this node")
    return factory


async def check_at_factory(
    runtime: NodeRuntime, subject: Subject, action: str, factory: Factory, missing: YunfabError
) -> None:
    """`action` on a thing of `factory` that was looked up by its own id (a station, a model, a
    schedule, an alert): who may not even read the factory is told `missing`, as for an id that
    is not on the node."""
    await runtime.authorizer.check_found(
        subject, action, factory_resource(factory), read="node.factory.read", missing=missing
    )


async def factory_for(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    factory_id: uuid.UUID,
    action: str,
) -> Factory:
    """The factory, once the policy allows `action` on it. Who may not even read it is told
    FACTORY_NOT_FOUND, as for an id that is not there: others' factory ids cannot be probed."""
    factory = await session.get(Factory, factory_id)
    await runtime.authorizer.check_found(
        subject,
        action,
        None if factory is None else factory_resource(factory),
        read="node.factory.read",
        missing=FactoryNotFound(f"no factory {factory_id} on this node"),
    )
    assert factory is not None
    return factory


async def factories_for(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    factory_ids: Sequence[uuid.UUID],
    action: str,
) -> list[YunfabError | None]:
    """`factory_for` for several factories at once, deciding them in one policy evaluation: for
    each, None when the policy allows `action` on it, else the error `factory_for` raises. The
    factories of a page read in the same session cost no SQL (the identity map holds them)."""
    factories = [await session.get(Factory, factory_id) for factory_id in factory_ids]
    return await runtime.authorizer.check_found_each(
        subject,
        action,
        [None if factory is None else factory_resource(factory) for factory in factories],
        read="node.factory.read",
        missing=lambda i: FactoryNotFound(f"no factory {factory_ids[i]} on this node"),
    )


async def readable_factory(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, factory_id: uuid.UUID
) -> Factory:
    return await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.factory.read"
    )


async def readable_factory_by_slug(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, slug: str
) -> Factory:
    """As `readable_factory`, by the slug people see in topics and device keys; a slug of a
    factory the caller may not read is FACTORY_NOT_FOUND, as one that does not exist."""
    factory = await FactoryRepository(session).get_by_slug(slug.strip()[:63])
    await runtime.authorizer.check_found(
        subject,
        "node.factory.read",
        None if factory is None else factory_resource(factory),
        read="node.factory.read",
        missing=FactoryNotFound(f"no factory {slug!r} on this node"),
    )
    assert factory is not None
    return factory


async def sees_every_factory(runtime: NodeRuntime, subject: Subject) -> bool:
    """Whether the policy lets `subject` read any factory, whoever's it is (the operator, a
    platform of the region): then a listing is one query with an exact total. A factory's own
    people are decided factory by factory."""
    return await runtime.authorizer.allows(
        subject, "node.factory.read", {"factory": None, "org": None}
    )


async def invite_factory(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, input: NewFactory
) -> Factory:
    await runtime.authorizer.check(subject, "node.factory.invite")
    slug = input.slug.strip()
    name = input.name.strip()
    if not SLUG.match(slug):
        raise InvalidInput("slug: lowercase letters, digits and hyphens, at most 63 characters")
    if not 1 <= len(name) <= 200:
        raise InvalidInput("name: 1 to 200 characters")
    organization_id = _organization_id(input.organization_id)
    repository = FactoryRepository(session)
    if await repository.get_by_slug(slug) is not None:
        raise FactoryExists(f"a factory with slug {slug!r} already exists on this node")
    if await repository.get_by_name(name) is not None:
        raise FactoryExists(f"a factory named {name!r} already exists on this node")
    nesting = await repository.slug_nesting(slug)
    if nesting is not None:
        # A factory's people name their devices `<slug>-...`; nested slugs would share keys.
        raise FactoryExists(f"slug {slug!r} nests with factory {nesting!r}'s: choose another")
    factory = Factory(
        slug=slug,
        name=name,
        organization_id=organization_id,
        contact=_checked_object("contact", input.contact),
        status=FactoryStatus.INVITED,
    )
    repository.add(factory)
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="node.factory.invite",
        resource=f"factory:{slug}",
        outcome="ok",
        detail={"name": name, "organization": organization_id},
    )
    return factory


def _organization_id(value: str | None) -> str | None:
    """The hub organization's id in its one spelling; anything that is not a UUID is refused, as
    no token could ever name it and the factory's people would be locked out."""
    if value is None or not value.strip():
        return None
    canonical = canonical_org_id(value)
    try:
        uuid.UUID(str(canonical))
    except ValueError:
        raise InvalidInput("organizationId: the organization's id at the hub (a UUID)") from None
    return canonical


async def save_profile(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    factory_id: uuid.UUID,
    input: ProfileInput,
) -> Factory:
    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.factory.edit"
    )
    changed: list[str] = []
    if input.name is not None:
        name = input.name.strip()
        if not 1 <= len(name) <= 200:
            raise InvalidInput("name: 1 to 200 characters")
        other = await FactoryRepository(session).get_by_name(name)
        if other is not None and other.id != factory.id:
            raise FactoryExists(f"a factory named {name!r} already exists on this node")
        factory.name = name
        changed.append("name")
    if input.location is not None:
        factory.location = _checked_location(input.location)
        changed.append("location")
    if input.contact is not None:
        factory.contact = _checked_object("contact", input.contact)
        changed.append("contact")
    for attribute in ("skills", "products"):
        values = getattr(input, attribute)
        if values is not None:
            setattr(factory, attribute, _checked_strings(attribute, values))
            changed.append(attribute)
    if input.certifications is not None:
        factory.certifications = _checked_certifications(input.certifications)
        changed.append("certifications")
    if input.equipment is not None:
        await _replace_equipment(session, factory, input.equipment)
        changed.append("equipment")
    factory.updated_at = utcnow()
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="node.factory.edit",
        resource=f"factory:{factory.slug}",
        outcome="ok",
        detail={"changed": changed},
    )
    return factory


async def change_status(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    factory_id: uuid.UUID,
    transition: Transition,
    reason: str | None = None,
) -> Factory:
    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action=_ACTION[transition]
    )
    sources, target = _MOVES[transition]
    if factory.status not in sources:
        raise TransitionNotAllowed(
            f"cannot {transition.value} a factory that is {factory.status.value}"
        )
    reason = (reason or "").strip() or None
    if transition in _NEEDS_REASON and reason is None:
        raise InvalidInput(f"reason: required to {transition.value} a factory")
    if transition is Transition.SUBMIT:
        missing = await missing_for_submission(session, factory)
        if missing:
            raise ProfileIncomplete("profile incomplete: " + ", ".join(missing))
    previous = factory.status
    factory.status = target
    factory.status_reason = reason if transition in _NEEDS_REASON else None
    factory.status_changed_at = utcnow()
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action=f"node.factory.{transition.value}",
        resource=f"factory:{factory.slug}",
        outcome="ok",
        detail={"from": previous.value, "to": target.value, "reason": reason},
    )
    if transition in (Transition.SUSPEND, Transition.REACTIVATE, Transition.ACTIVATE):
        # Whoever follows factories (the devices domain: its machines are accepted or refused
        # from now on) hears of it in this unit of work.
        for listener in runtime.factory_status_listeners:
            await listener(session, runtime, factory, previous)
    return factory


async def missing_for_submission(session: AsyncSession, factory: Factory) -> list[str]:
    missing = []
    if not factory.location.get("address") or not factory.location.get("region"):
        missing.append("location (address and region)")
    if not factory.contact.get("name") or not (
        factory.contact.get("phone") or factory.contact.get("email")
    ):
        missing.append("contact (name and phone or email)")
    if not await FactoryRepository(session).equipment(factory.id):
        missing.append("equipment")
    if not factory.products:
        missing.append("products")
    return missing


async def set_capacity(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    factory_id: uuid.UUID,
    days: Sequence[CapacityInput],
) -> int:
    """Set (insert or replace) capacity entries; returns how many were written."""
    factory = await factory_for(
        session, subject, runtime=runtime, factory_id=factory_id, action="node.factory.edit"
    )
    if len(days) > MAX_CAPACITY_DAYS:
        raise InvalidInput(f"at most {MAX_CAPACITY_DAYS} capacity entries per call")
    seen: set[tuple[str, dt.date]] = set()
    for index, day in enumerate(days):
        where = f"days[{index}]"
        if not SLUG.match(day.process):
            raise InvalidInput(f"{where}.process: a lowercase slug such as 'injection-moulding'")
        if (day.process, day.day) in seen:
            raise InvalidInput(f"{where}: {day.process} on {day.day} given twice")
        seen.add((day.process, day.day))
        if day.available_hours is None and day.available_units is None:
            raise InvalidInput(f"{where}: give availableHours or availableUnits")
        if day.available_hours is not None and not 0 <= day.available_hours <= 24:
            raise InvalidInput(f"{where}.availableHours: between 0 and 24")
        if day.available_units is not None and day.available_units < 0:
            raise InvalidInput(f"{where}.availableUnits: not negative")
        if not 0 <= day.downtime_hours <= 24:
            raise InvalidInput(f"{where}.downtimeHours: between 0 and 24")
        if day.hourly_rate is not None and not day.hourly_rate >= 0:
            raise InvalidInput(f"{where}.hourlyRate: not negative")
    for day in days:
        existing = await session.get(CapacityDay, (factory.id, day.process, day.day))
        row = existing or CapacityDay(factory_id=factory.id, process=day.process, day=day.day)
        row.available_hours = day.available_hours
        row.available_units = day.available_units
        row.downtime_hours = day.downtime_hours
        row.hourly_rate = day.hourly_rate
        row.note = day.note
        if existing is None:
            session.add(row)
    await session.flush()
    await append_entry(
        session,
        actor=subject,
        action="node.factory.capacity",
        resource=f"factory:{factory.slug}",
        outcome="ok",
        detail={"entries": len(days)},
    )
    return len(days)


async def list_factories(
    session: AsyncSession, *, page: PageRequest, where: FactoryFilter | None = None
) -> Page[Factory]:
    """One page by name; the caller filters it through the policy (see `counted_or_visible`)."""
    return await FactoryRepository(session).page(page, where)


async def _replace_equipment(
    session: AsyncSession, factory: Factory, equipment: Sequence[EquipmentInput]
) -> None:
    if len(equipment) > MAX_EQUIPMENT:
        raise InvalidInput(f"equipment: at most {MAX_EQUIPMENT} entries")
    rows = []
    for index, item in enumerate(equipment):
        where = f"equipment[{index}]"
        if not SLUG.match(item.type):
            raise InvalidInput(
                f"{where}.type: a lowercase slug such as 'injection-moulding-machine'"
            )
        if not 1 <= len(item.model.strip()) <= 120:
            raise InvalidInput(f"{where}.model: 1 to 120 characters")
        if not 1 <= item.count <= 100_000:
            raise InvalidInput(f"{where}.count: 1 to 100000")
        parameters = _checked_object(f"{where}.parameters", item.parameters)
        for key, value in parameters.items():
            if not isinstance(value, int | float | str) or isinstance(value, bool):
                raise InvalidInput(f"{where}.parameters.{key}: a number or a string")
        rows.append(
            Equipment(
                factory_id=factory.id,
                type=item.type,
                model=item.model.strip(),
                count=item.count,
                parameters=parameters,
            )
        )
    await session.execute(delete(Equipment).where(Equipment.factory_id == factory.id))
    session.add_all(rows)


def _checked_object(what: str, value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > 50:
        raise InvalidInput(f"{what}: at most 50 entries")
    for key, item in value.items():
        if not isinstance(key, str) or len(key) > 63:
            raise InvalidInput(f"{what}: keys are names of at most 63 characters")
        if isinstance(item, str) and len(item) > 500:
            raise InvalidInput(f"{what}.{key}: at most 500 characters")
        if isinstance(item, dict | list):
            raise InvalidInput(f"{what}.{key}: plain values only")
    return dict(value)


def _checked_location(value: dict[str, Any]) -> dict[str, Any]:
    location = _checked_object("location", value)
    zone = location.get("time_zone")
    if zone is not None and not known_time_zone(zone):
        raise InvalidInput("location.timeZone: an IANA time zone such as Asia/Shanghai")
    for axis, limit in (("lat", 90.0), ("lon", 180.0)):
        if axis in location:
            coordinate = location[axis]
            if not isinstance(coordinate, int | float) or not -limit <= coordinate <= limit:
                raise InvalidInput(f"location.{axis}: a number within +-{limit:g}")
    return location


def known_time_zone(name: object) -> bool:
    if not isinstance(name, str) or not 1 <= len(name) <= 63:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _checked_strings(what: str, values: list[str]) -> list[str]:
    if len(values) > MAX_LIST:
        raise InvalidInput(f"{what}: at most {MAX_LIST} entries")
    cleaned = []
    for value in values:
        text = value.strip()
        if not 1 <= len(text) <= 200:
            raise InvalidInput(f"{what}: entries of 1 to 200 characters")
        if text not in cleaned:
            cleaned.append(text)
    return cleaned


def _checked_certifications(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(values) > MAX_LIST:
        raise InvalidInput(f"certifications: at most {MAX_LIST} entries")
    result = []
    for index, value in enumerate(values):
        item = _checked_object(f"certifications[{index}]", value)
        if not item.get("name"):
            raise InvalidInput(f"certifications[{index}].name: required")
        valid_until = item.get("valid_until")
        if valid_until is not None:
            try:
                dt.date.fromisoformat(str(valid_until))
            except ValueError as exc:
                raise InvalidInput(
                    f"certifications[{index}].valid_until: a date (YYYY-MM-DD)"
                ) from exc
        result.append(item)
    return result
