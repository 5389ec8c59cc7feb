from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from regional_node.alerts.graphql.types import AlertStatusEnum, AlertType
from regional_node.devices.graphql.types import DeviceType
from regional_node.factories.graphql.loaders import (
    AlertsLoader,
    CapacityKey,
    CapacityLoader,
    DevicesLoader,
    EquipmentLoader,
    EvaluationLoader,
    PageKey,
)
from regional_node.factories.models import CapacityDay, Equipment, Factory, FactoryStatus
from regional_node.graphql.context import NodeContext
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Connection
from yunfab.graphql.resolvers import page_request

FactoryStatusEnum = strawberry.enum(FactoryStatus, name="FactoryStatus")
MAX_CAPACITY_SPAN_DAYS = 366


@strawberry.type(name="Equipment")
class EquipmentType:
    type: str
    model: str
    count: int
    parameters: JSON = strawberry.field(
        description="Free-form on purpose: each machine type has its own key parameters "
        "(name -> number or text, e.g. clamp_force_kn: 2500)."
    )

    @classmethod
    def from_model(cls, item: Equipment) -> EquipmentType:
        return cls(
            type=item.type,
            model=item.model,
            count=item.count,
            parameters=item.parameters,  # type: ignore[arg-type]
        )


def _text(value: object) -> str | None:
    return None if value is None or isinstance(value, dict | list) else str(value)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@strawberry.type(name="FactoryLocation")
class LocationType:
    address: str | None
    city: str | None
    region: str | None = strawberry.field(description="ISO 3166-2, e.g. CN-ZJ.")
    lat: float | None
    lon: float | None
    time_zone: str | None = strawberry.field(
        description="IANA time zone (Asia/Shanghai); null: the node's."
    )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LocationType:
        return cls(
            address=_text(data.get("address")),
            city=_text(data.get("city")),
            region=_text(data.get("region")),
            lat=_number(data.get("lat")),
            lon=_number(data.get("lon")),
            time_zone=_text(data.get("time_zone")),
        )


@strawberry.type(name="FactoryContact")
class ContactType:
    name: str | None
    phone: str | None
    email: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContactType:
        return cls(
            name=_text(data.get("name")),
            phone=_text(data.get("phone")),
            email=_text(data.get("email")),
        )


@strawberry.type(name="Certification")
class CertificationType:
    name: str
    issuer: str | None
    valid_until: dt.date | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CertificationType:
        until = _text(data.get("valid_until"))
        try:
            valid_until = dt.date.fromisoformat(until) if until else None
        except ValueError:
            valid_until = None
        return cls(
            name=_text(data.get("name")) or "",
            issuer=_text(data.get("issuer")),
            valid_until=valid_until,
        )


@strawberry.type(name="CapacityDay")
class CapacityDayType:
    process: str
    day: dt.date
    available_hours: float | None
    available_units: int | None
    downtime_hours: float
    hourly_rate: float | None
    note: str | None

    @classmethod
    def from_model(cls, row: CapacityDay) -> CapacityDayType:
        return cls(
            process=row.process,
            day=row.day,
            available_hours=row.available_hours,
            available_units=row.available_units,
            downtime_hours=row.downtime_hours,
            hourly_rate=row.hourly_rate,
            note=row.note,
        )


@strawberry.type(name="ScoreInput")
class ScoreInputType:
    name: str
    value: float
    unit: str


@strawberry.type(name="Score")
class ScoreType:
    name: str
    value: float | None = strawberry.field(description="0-100; null while there is no data.")
    explanation: str
    inputs: list[ScoreInputType]


@strawberry.type(name="Evaluation")
class EvaluationType:
    computed_at: dt.datetime
    window_days: int
    scores: list[ScoreType]


@strawberry.type(name="Factory")
class FactoryType:
    id: uuid.UUID
    slug: str
    name: str = strawberry.field(description="Legal name.")
    status: FactoryStatusEnum  # type: ignore[valid-type]
    status_reason: str | None
    organization_id: str | None
    location: LocationType
    contact: ContactType
    skills: list[str]
    certifications: list[CertificationType]
    products: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    status_changed_at: dt.datetime
    model: strawberry.Private[Factory]

    @classmethod
    def from_model(cls, factory: Factory) -> FactoryType:
        return cls(
            id=factory.id,
            slug=factory.slug,
            name=factory.name,
            status=factory.status,
            status_reason=factory.status_reason,
            organization_id=factory.organization_id,
            location=LocationType.from_json(factory.location),
            contact=ContactType.from_json(factory.contact),
            skills=factory.skills,
            certifications=[CertificationType.from_json(c) for c in factory.certifications],
            products=factory.products,
            created_at=factory.created_at,
            updated_at=factory.updated_at,
            status_changed_at=factory.status_changed_at,
            model=factory,
        )

    @strawberry.field
    async def equipment(self, info: Info[NodeContext, None]) -> list[EquipmentType]:
        rows = await EquipmentLoader.of(info).load(self.id)
        return [EquipmentType.from_model(row) for row in rows]

    @strawberry.field(description="Capacity entries from `start` to `end` (inclusive).")
    async def capacity(
        self, info: Info[NodeContext, None], start: dt.date, end: dt.date
    ) -> list[CapacityDayType]:
        if not 0 <= (end - start).days <= MAX_CAPACITY_SPAN_DAYS:
            raise InvalidInput(
                f"end must be on or after start, within {MAX_CAPACITY_SPAN_DAYS} days"
            )
        rows = await CapacityLoader.of(info).load(CapacityKey(self.id, start, end))
        return [CapacityDayType.from_model(row) for row in rows]

    @strawberry.field(description="Scores computed now from what the node holds, with inputs.")
    async def evaluation(self, info: Info[NodeContext, None]) -> EvaluationType:
        result = await EvaluationLoader.of(info).evaluate(self.model)
        return EvaluationType(
            computed_at=result.computed_at,
            window_days=result.window_days,
            scores=[
                ScoreType(
                    name=score.name,
                    value=score.value,
                    explanation=score.explanation,
                    inputs=[
                        ScoreInputType(name=i.name, value=i.value, unit=i.unit)
                        for i in score.inputs
                    ],
                )
                for score in result.scores
            ],
        )

    @strawberry.field
    async def devices(
        self, info: Info[NodeContext, None], first: int = 50, after: str | None = None
    ) -> Connection[DeviceType]:
        request = page_request(info.context, first, after, arity=1)
        page = await DevicesLoader.of(info).load(PageKey.of(self.id, request))
        return Connection[DeviceType].from_page(
            page, key=lambda device: (device.key,), node=DeviceType.from_model, after=after
        )

    @strawberry.field(description="Alerts of this factory, newest first.")
    async def alerts(
        self,
        info: Info[NodeContext, None],
        status: AlertStatusEnum | None = None,  # type: ignore[valid-type]
        first: int = 50,
        after: str | None = None,
    ) -> Connection[AlertType]:
        request = page_request(info.context, first, after, arity=2)
        page = await AlertsLoader.of(info).load(PageKey.of(self.id, request, status))
        return Connection[AlertType].from_page(
            page,
            key=lambda alert: (alert.opened_at.isoformat(), str(alert.id)),
            node=AlertType.from_model,
            after=after,
        )
