from __future__ import annotations

import datetime as dt
import uuid

import strawberry
from sqlalchemy import select
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
from regional_node.devices.service import MAX_METRICS
from regional_node.graphql.context import NodeContext
from regional_node.telemetry import service as telemetry
from regional_node.telemetry.codec import TELEMETRY_PREFIX
from regional_node.telemetry.graphql.schema import MetricValueType
from yunfab.errors import InvalidInput
from yunfab.graphql.dataloaders import Loader, grouped

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


class LatestValuesLoader(Loader[uuid.UUID, list[telemetry.LatestValue]]):
    """One query for the newest values of every device on the page: the devices were already
    read under the policy (`node.device.read`, the same subjects as `node.telemetry.read`)."""

    async def batch_load(self, keys: list[uuid.UUID]) -> list[list[telemetry.LatestValue]]:
        found = await telemetry.latest_values(self.context.session, keys)
        return [found.get(device_id, []) for device_id in keys]


class MetricsLoader(Loader[uuid.UUID, list[DeviceMetric]]):
    """The declared metrics of every device on a page, by name (`service.device_metrics`), in
    one query."""

    async def batch_load(self, keys: list[uuid.UUID]) -> list[list[DeviceMetric]]:
        rows = await self.context.session.scalars(
            select(DeviceMetric).where(DeviceMetric.device_id.in_(keys)).order_by(DeviceMetric.name)
        )
        return grouped(keys, rows, lambda row: row.device_id, lambda row: row)


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

    @strawberry.field(
        description="The newest reading of each metric (of those named; all when null) that has "
        "one kept; a device list asks for all its devices' at once."
    )
    async def latest(
        self, info: Info[NodeContext, None], metrics: list[str] | None = None
    ) -> list[MetricValueType]:
        if metrics is not None and len(metrics) > MAX_METRICS:
            raise InvalidInput(f"metrics: at most {MAX_METRICS}")
        values = await LatestValuesLoader.of(info).load(self.id)
        wanted = None if metrics is None else set(metrics)
        return [
            MetricValueType.from_latest(value)
            for value in values
            if wanted is None or value.metric in wanted
        ]

    @strawberry.field
    async def metrics(self, info: Info[NodeContext, None]) -> list[DeviceMetricType]:
        rows = await MetricsLoader.of(info).load(self.id)
        return [DeviceMetricType.from_model(row) for row in rows]
