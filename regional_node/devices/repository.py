"""What devices declared, as other domains ask it (alert rules name declared metrics)."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.devices.models import Device, DeviceMetric, DeviceStatus


async def declared_metrics(session: AsyncSession, device_id: uuid.UUID) -> set[str]:
    """The names of the metrics the device declares."""
    return set(
        await session.scalars(select(DeviceMetric.name).where(DeviceMetric.device_id == device_id))
    )


async def metrics_by_type(
    session: AsyncSession, factory_id: uuid.UUID | None
) -> dict[str, set[str]]:
    """Device type -> the metrics its devices declare, over the devices not retired of the
    factory (or of the node when `factory_id` is None); a type none of whose devices declares a
    metric maps to an empty set."""
    scope = [Device.status != DeviceStatus.RETIRED]
    if factory_id is not None:
        scope.append(Device.factory_id == factory_id)
    rows = await session.execute(
        select(Device.type, DeviceMetric.name)
        .outerjoin(DeviceMetric, DeviceMetric.device_id == Device.id)
        .where(*scope)
        .distinct()
    )
    metrics: dict[str, set[str]] = defaultdict(set)
    for kind, name in rows:
        names = metrics[kind]
        if name is not None:
            names.add(name)
    return dict(metrics)


async def metric_units_by_type(
    session: AsyncSession, factory_id: uuid.UUID | None
) -> dict[str, set[tuple[str, str]]]:
    """As `metrics_by_type`, with each metric's unit: (name, unit) pairs as the devices declare
    them (two devices of a type declaring one metric in different units give two pairs)."""
    scope = [Device.status != DeviceStatus.RETIRED]
    if factory_id is not None:
        scope.append(Device.factory_id == factory_id)
    rows = await session.execute(
        select(Device.type, DeviceMetric.name, DeviceMetric.unit)
        .outerjoin(DeviceMetric, DeviceMetric.device_id == Device.id)
        .where(*scope)
        .distinct()
    )
    metrics: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for kind, name, unit in rows:
        pairs = metrics[kind]
        if name is not None:
            pairs.add((name, unit))
    return dict(metrics)
