"""SQL of the node's devices: the devices with their declared metrics, and what devices
declared as other domains ask it (alert rules name declared metrics)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from regional_node.devices.models import Device, DeviceMetric, DeviceStatus
from regional_node.factories.models import Factory, FactoryStatus
from yunfab.graphql.pagination import Page, PageRequest


class DeviceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, device_id: uuid.UUID) -> Device | None:
        return await self.session.get(Device, device_id)

    async def get_by_key(self, key: str) -> Device | None:
        return (await self.session.scalars(select(Device).where(Device.key == key))).one_or_none()

    async def key_taken(self, key: str) -> bool:
        return await self.session.scalar(select(Device.id).where(Device.key == key)) is not None

    async def page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[Device]:
        """By key: the cursor is `[key]`."""
        query = select(Device).where(*conditions).order_by(Device.key)
        if page.after is not None:
            query = query.where(Device.key > page.after[0])
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(Device).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)

    async def keys_and_statuses_at(self, factory_id: uuid.UUID) -> Sequence[Row[str, DeviceStatus]]:
        """(key, status) of every device of the factory."""
        return (
            await self.session.execute(
                select(Device.key, Device.status).where(Device.factory_id == factory_id)
            )
        ).all()

    async def factories(self, factory_ids: Collection[uuid.UUID]) -> Sequence[Factory]:
        """The devices' factories, for deciding on them."""
        return (
            await self.session.scalars(select(Factory).where(Factory.id.in_(factory_ids)))
        ).all()

    async def metrics(self, device_id: uuid.UUID) -> Sequence[DeviceMetric]:
        """The device's declared metrics, by name."""
        return (
            await self.session.scalars(
                select(DeviceMetric)
                .where(DeviceMetric.device_id == device_id)
                .order_by(DeviceMetric.name)
            )
        ).all()

    async def series(self, device_id: uuid.UUID) -> Sequence[Row[int, str]]:
        """(series id, name) of each metric the device declares."""
        return (
            await self.session.execute(
                select(DeviceMetric.id, DeviceMetric.name).where(
                    DeviceMetric.device_id == device_id
                )
            )
        ).all()

    async def with_factories(
        self, keys: Collection[str] | None
    ) -> Sequence[Row[Device, str, str | None, FactoryStatus, str]]:
        """(device, factory slug, factory organization, factory status, edge node key or None)
        of the devices with these keys (all devices when None): what ingest's registry holds."""
        edge = aliased(Device)
        query = (
            select(Device, Factory.slug, Factory.organization_id, Factory.status, edge.key)
            .join(Factory, Factory.id == Device.factory_id)
            .outerjoin(edge, edge.id == Device.edge_node_id)
        )
        if keys is not None:
            query = query.where(Device.key.in_(keys))
        return (await self.session.execute(query)).all()

    async def metrics_of(self, device_ids: Collection[uuid.UUID] | None) -> Sequence[DeviceMetric]:
        """The metrics these devices declare (every device's when None)."""
        query = select(DeviceMetric)
        if device_ids is not None:
            query = query.where(DeviceMetric.device_id.in_(device_ids))
        return (await self.session.scalars(query)).all()


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
