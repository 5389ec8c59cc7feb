from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from regional_node.factories import service
from regional_node.factories.graphql.types import FactoryType
from regional_node.graphql.context import NodeContext
from yunfab.errors import InvalidInput
from yunfab.graphql.resolvers import mutate, service_input

TransitionEnum = strawberry.enum(service.Transition, name="FactoryTransition")


@strawberry.input
class LocationInput:
    address: str | None = None
    city: str | None = None
    region: str | None = strawberry.field(default=None, description="ISO 3166-2, e.g. CN-ZJ.")
    lat: float | None = None
    lon: float | None = None
    time_zone: str | None = strawberry.field(
        default=None,
        description="IANA time zone (Asia/Shanghai) for the factory's charts; null: the node's.",
    )

    def as_json(self) -> dict[str, Any]:
        return _given(address=self.address, city=self.city, region=self.region, lat=self.lat,
                      lon=self.lon, time_zone=self.time_zone)  # fmt: skip


@strawberry.input
class ContactInput:
    name: str | None = None
    phone: str | None = None
    email: str | None = None

    def as_json(self) -> dict[str, Any]:
        return _given(name=self.name, phone=self.phone, email=self.email)


@strawberry.input
class CertificationInput:
    name: str
    issuer: str | None = None
    valid_until: dt.date | None = None

    def as_json(self) -> dict[str, Any]:
        until = None if self.valid_until is None else self.valid_until.isoformat()
        return _given(name=self.name, issuer=self.issuer, valid_until=until)


def _given(**values: Any) -> dict[str, Any]:
    """The fields given, as the profile stores them (absent rather than null)."""
    return {key: value for key, value in values.items() if value is not None}


@strawberry.input
class InviteFactoryInput:
    slug: str = strawberry.field(description="Short name for topics, e.g. keqiao-weaving-03.")
    name: str = strawberry.field(description="Legal name.")
    organization_id: str | None = strawberry.field(
        default=None, description="The factory's organization at the hub, for its people."
    )
    contact: ContactInput | None = None


@strawberry.input
class EquipmentInput:
    type: str
    model: str
    count: int
    parameters: JSON | None = None


@strawberry.input
class FactoryProfileInput:
    name: str | None = None
    location: LocationInput | None = strawberry.field(
        default=None, description="Replaces the whole location."
    )
    contact: ContactInput | None = strawberry.field(
        default=None, description="Replaces the whole contact."
    )
    skills: list[str] | None = None
    certifications: list[CertificationInput] | None = strawberry.field(
        default=None, description="Replaces the whole list."
    )
    products: list[str] | None = None
    equipment: list[EquipmentInput] | None = strawberry.field(
        default=None, description="Replaces the whole list."
    )


@strawberry.input
class CapacityDayInput:
    process: str
    day: dt.date
    available_hours: float | None = None
    available_units: int | None = None
    downtime_hours: float = 0.0
    hourly_rate: float | None = strawberry.field(
        default=None, description="Price of an hour of this process that day (allocation cost)."
    )
    note: str | None = None


@strawberry.type
class FactoryMutation:
    @strawberry.mutation(description="Invite a factory to join this node (node operators).")
    async def invite_factory(
        self, info: Info[NodeContext, None], input: InviteFactoryInput
    ) -> FactoryType:
        context = info.context
        factory = await mutate(
            context,
            service.invite_factory,
            runtime=context.runtime,
            input=service_input(
                service.NewFactory,
                input,
                contact={} if input.contact is None else input.contact.as_json(),
            ),
        )
        return FactoryType.from_model(factory)

    @strawberry.mutation(description="Fill in or change a factory's profile.")
    async def save_factory_profile(
        self, info: Info[NodeContext, None], factory_id: uuid.UUID, input: FactoryProfileInput
    ) -> FactoryType:
        context = info.context
        profile = service.ProfileInput(
            name=input.name,
            location=None if input.location is None else input.location.as_json(),
            contact=None if input.contact is None else input.contact.as_json(),
            skills=input.skills,
            certifications=None
            if input.certifications is None
            else [item.as_json() for item in input.certifications],
            products=input.products,
            equipment=None
            if input.equipment is None
            else [
                service_input(
                    service.EquipmentInput,
                    item,
                    parameters=_object("parameters", item.parameters),
                )
                for item in input.equipment
            ],
        )
        factory = await mutate(
            context,
            service.save_profile,
            runtime=context.runtime,
            factory_id=factory_id,
            input=profile,
        )
        return FactoryType.from_model(factory)

    @strawberry.mutation(
        description="Move a factory through onboarding: submit, verify, reject (with a reason), "
        "activate, suspend (with a reason), reactivate."
    )
    async def change_factory_status(
        self,
        info: Info[NodeContext, None],
        factory_id: uuid.UUID,
        transition: TransitionEnum,  # type: ignore[valid-type]
        reason: str | None = None,
    ) -> FactoryType:
        context = info.context
        factory = await mutate(
            context,
            service.change_status,
            runtime=context.runtime,
            factory_id=factory_id,
            transition=transition,
            reason=reason,
        )
        return FactoryType.from_model(factory)

    @strawberry.mutation(description="Set capacity entries (insert or replace); returns the count.")
    async def set_factory_capacity(
        self, info: Info[NodeContext, None], factory_id: uuid.UUID, days: list[CapacityDayInput]
    ) -> int:
        context = info.context
        return await mutate(
            context,
            service.set_capacity,
            runtime=context.runtime,
            factory_id=factory_id,
            days=[service_input(service.CapacityInput, day) for day in days],
        )


def _object(what: str, value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{what}: a JSON object")
    return value
