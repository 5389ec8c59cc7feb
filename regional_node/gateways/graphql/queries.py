"""`gatewayStatus`: what an edge node's gateway last reported, for who may read the device."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from regional_node.devices.graphql.types import ConnectionEnum
from regional_node.devices.models import DeviceKind
from regional_node.gateways import status
from regional_node.graphql.context import NodeContext
from yunfab.graphql.resolvers import query


def _at(ms: Any) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC) if isinstance(ms, int) else None


@strawberry.type(name="GatewayConnector", description="A connector (one machine's link).")
class GatewayConnectorType:
    name: str
    up: bool
    last_error: str | None


@strawberry.type(name="GatewayPoint", description="One mapped point as the gateway sees it.")
class GatewayPointType:
    connector: str
    device_key: str
    metric: str
    unit: str
    source: str = strawberry.field(description="Its OPC UA node or browse path, or register.")
    last_value: JSON | None = strawberry.field(
        description="A number, a boolean or a text (e.g. the mould id)."
    )
    last_at: dt.datetime | None
    last_error: str | None
    last_error_at: dt.datetime | None
    failing: bool = strawberry.field(
        description="Its last read failed or its last value was refused."
    )
    reads: int
    published: int
    refused: int
    errors: int

    @classmethod
    def of(cls, point: dict[str, Any]) -> GatewayPointType:
        return cls(
            connector=point["connector"],
            device_key=point["device"],
            metric=point["metric"],
            unit=point.get("unit", ""),
            source=point.get("source", ""),
            last_value=point.get("last_value"),
            last_at=_at(point.get("last_ts_ms")),
            last_error=point.get("last_error"),
            last_error_at=_at(point.get("last_error_ms")),
            failing=bool(point.get("failing")),
            reads=int(point.get("reads", 0)),
            published=int(point.get("published", 0)),
            refused=int(point.get("refused", 0)),
            errors=int(point.get("errors", 0)),
        )


@strawberry.type(
    name="GatewayStatus",
    description="An edge node's gateway: online or offline from its births and deaths, the "
    "rest as it last reported (every status_interval_s, when its configuration names the "
    "node's URL).",
)
class GatewayStatusType:
    device_id: uuid.UUID
    connection: ConnectionEnum  # type: ignore[valid-type]
    last_seen_at: dt.datetime | None
    reported_at: dt.datetime | None = strawberry.field(
        description="When the last report came (node's clock); null: none yet."
    )
    gateway_at: dt.datetime | None = strawberry.field(description="The gateway's clock then.")
    mqtt_connected: bool | None
    mqtt_last_error: str | None
    journal_rows: int | None = strawberry.field(description="Readings waiting to be sent.")
    journal_bytes: int | None
    journal_dropped: int | None = strawberry.field(
        description="Readings dropped because the journal was full."
    )
    values_refused: int | None
    read_errors: int | None
    config_version: int | None = strawberry.field(
        description="The node's configuration version the gateway runs (null: its own file)."
    )
    config_latest: int | None = strawberry.field(
        description="The newest version the node holds for it (pushGatewayConfig)."
    )
    config_refused_version: int | None = strawberry.field(
        description="A version the gateway refused (e.g. a file it names is not on its box); "
        "it goes on with the configuration it ran."
    )
    config_refused_error: str | None
    connectors: list[GatewayConnectorType]
    points: list[GatewayPointType]

    @classmethod
    def of(cls, found: status.EdgeNodeStatus) -> GatewayStatusType:
        device, row = found.device, found.status
        document: dict[str, Any] = row.document if row is not None else {}
        mqtt = document.get("mqtt") or {}
        journal = document.get("journal") or {}
        refused = document.get("config_refused") or {}
        return cls(
            device_id=device.id,
            connection=device.connection,
            last_seen_at=device.last_seen_at,
            reported_at=row.reported_at if row is not None else None,
            gateway_at=row.gateway_at if row is not None else None,
            mqtt_connected=mqtt.get("connected"),
            mqtt_last_error=mqtt.get("last_error"),
            journal_rows=journal.get("rows"),
            journal_bytes=journal.get("bytes"),
            journal_dropped=journal.get("dropped"),
            values_refused=document.get("values_refused"),
            read_errors=document.get("read_errors"),
            config_version=document.get("config_version"),
            config_latest=found.config_latest,
            config_refused_version=refused.get("version"),
            config_refused_error=refused.get("error"),
            connectors=[
                GatewayConnectorType(
                    name=name, up=bool(state.get("up")), last_error=state.get("last_error")
                )
                for name, state in sorted((document.get("connectors") or {}).items())
            ],
            points=[GatewayPointType.of(point) for point in document.get("points") or []],
        )


@strawberry.type
class GatewayQuery:
    @strawberry.field(
        description="An edge node's gateway status (who may read the device: its factory's "
        "people, the node operator); null for a device that is not an edge node. "
        "DEVICE_NOT_FOUND for one you may not see."
    )
    async def gateway_status(
        self, info: Info[NodeContext, None], device_id: uuid.UUID
    ) -> GatewayStatusType | None:
        context = info.context
        found = await query(
            context, status.edge_node_status, runtime=context.runtime, device_id=device_id
        )
        if found.status is None and found.device.kind is not DeviceKind.EDGE_NODE:
            return None
        return GatewayStatusType.of(found)
