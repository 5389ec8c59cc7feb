"""What a node's services need beside the session and the subject, built once per app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from regional_node.alerts.engine import AlertEngine, AlertEvent
from regional_node.audit.service import AuditLog
from regional_node.devices.registry import DeviceRegistry
from regional_node.telemetry.metrics import IngestMetrics
from regional_node.telemetry.pipeline import IngestPipeline, TelemetryEvent
from yunfab.authorization import Authorizer
from yunfab.events import Broadcaster


class BrokerAccess(Protocol):
    """The broker's view of device credentials (Mosquitto dynamic security when managed)."""

    async def provision_device(
        self, device_key: str, password: str, *, edge_node_group: str | None = None
    ) -> None: ...

    async def disable_device(self, device_key: str) -> None: ...

    async def enable_device(self, device_key: str) -> None: ...

    async def delete_device(self, device_key: str) -> None: ...

    async def set_password(self, device_key: str, password: str) -> None: ...


@dataclass
class NodeRuntime:
    node_name: str
    authorizer: Authorizer
    audit: AuditLog
    registry: DeviceRegistry
    pipeline: IngestPipeline
    alerts: AlertEngine
    metrics: IngestMetrics
    telemetry_events: Broadcaster[TelemetryEvent]
    alert_events: Broadcaster[AlertEvent]
    broker: BrokerAccess | None = None
    """None when the node does not manage its broker (development on an open broker)."""
