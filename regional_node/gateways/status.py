"""The status gateways report (their link, journal, connectors, every point's last value and
error), kept per edge node, newest only; read by who may read the edge node."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.devices.models import Device, DeviceKind
from regional_node.devices.service import device_with_factory
from regional_node.gateways.models import GatewayStatus
from regional_node.gateways.repository import GatewayConfigRepository, GatewayStatusRepository
from yunfab.db import utcnow
from yunfab.subject import Subject

if TYPE_CHECKING:
    from regional_node.runtime import NodeRuntime


@dataclass(frozen=True)
class EdgeNodeStatus:
    device: Device
    status: GatewayStatus | None
    """None: no report yet (or the device is not an edge node)."""
    config_latest: int | None = None


async def store_status(
    session: AsyncSession,
    *,
    device_id: uuid.UUID,
    gateway_at_ms: int | None,
    document: dict[str, Any],
) -> GatewayStatus:
    """The edge node's newest report replaces the one before (the caller checked who sent it
    and bounded the document)."""
    gateway_at = (
        None
        if gateway_at_ms is None
        else dt.datetime.fromtimestamp(gateway_at_ms / 1000, tz=dt.UTC)
    )
    repository = GatewayStatusRepository(session)
    row = await repository.get(device_id)
    if row is None:
        row = GatewayStatus(device_id=device_id)
        repository.add(row)
    row.reported_at = utcnow()
    row.gateway_at = gateway_at
    row.document = document
    await session.flush()
    return row


async def edge_node_status(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, device_id: uuid.UUID
) -> EdgeNodeStatus:
    device, _ = await device_with_factory(
        session, subject, runtime=runtime, device_id=device_id, action="node.device.read"
    )
    if device.kind is not DeviceKind.EDGE_NODE:
        return EdgeNodeStatus(device=device, status=None)
    return EdgeNodeStatus(
        device=device,
        status=await GatewayStatusRepository(session).get(device.id),
        config_latest=await GatewayConfigRepository(session).latest_version(device.id),
    )
