from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from strawberry.types import Info

from regional_node.devices.models import (
    Connection as ConnectionState,
)
from regional_node.devices.models import (
    Device,
    DeviceKind,
    DeviceMetric,
    DeviceStatus,
)
from regional_node.devices.service import device_metrics
from regional_node.graphql.context import NodeContext
from regional_node.telemetry.codec import TELEMETRY_PREFIX

DeviceKindEnum = strawberry.enum(DeviceKind, name="DeviceKind")
DeviceStatusEnum = strawberry.enum(DeviceStatus, name="DeviceStatus")
ConnectionEnum = strawberry.enum(ConnectionState, name="DeviceConnectionState")


@strawberry.type(name="DeviceMetric")
class DeviceMetricType:
    name: str
    unit: str
    min_value: float | None
    max_value: float | None

    @classmethod
    def from_model(cls, metric: DeviceMetric) -> DeviceMetricType:
        return cls(
            name=metric.name,
            unit=metric.unit,
            min_value=metric.min_value,
            max_value=metric.max_value,
        )


@strawberry.type(name="Device")
class DeviceType:
    id: uuid.UUID
    key: str = strawberry.field(description="MQTT username and topic segment.")
    name: str
    type: str
    kind: DeviceKindEnum  # type: ignore[valid-type]
    status: DeviceStatusEnum  # type: ignore[valid-type]
    connection: ConnectionEnum  # type: ignore[valid-type]
    factory_id: uuid.UUID
    last_seen_at: dt.datetime | None
    created_at: dt.datetime
    status_changed_at: dt.datetime

    @classmethod
    def from_model(cls, device: Device) -> DeviceType:
        return cls(
            id=device.id,
            key=device.key,
            name=device.name,
            type=device.type,
            kind=device.kind,
            status=device.status,
            connection=device.connection,
            factory_id=device.factory_id,
            last_seen_at=device.last_seen_at,
            created_at=device.created_at,
            status_changed_at=device.status_changed_at,
        )

    @strawberry.field(description="Where it publishes plain-JSON telemetry (docs/telemetry.md).")
    def telemetry_topic(self) -> str:
        return TELEMETRY_PREFIX + self.key

    @strawberry.field
    async def metrics(self, info: Info[NodeContext, None]) -> list[DeviceMetricType]:
        rows = await device_metrics(info.context.session, self.id)
        return [DeviceMetricType.from_model(row) for row in rows]
