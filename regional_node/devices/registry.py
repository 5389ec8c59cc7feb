"""The device registry as ingest sees it: who may send, which metrics, which ranges.

Ingest looks a device up for every message, so the registry is held in memory and reloaded:
a device the node changes itself is reloaded right after the change commits (`invalidate`), and
the whole registry is reloaded every few seconds to pick up changes made by another process
(the node console on the same database). An unknown key is looked up in the database at most
once per `miss_ttl_s`, so a flood from an unknown device does not become a flood of queries.
"""

from __future__ import annotations

import functools
import math
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from regional_node.devices.models import DeviceKind, DeviceStatus
from regional_node.devices.repository import DeviceRepository
from regional_node.factories.models import FactoryStatus


@dataclass(frozen=True)
class MetricSpec:
    series_id: int
    name: str
    unit: str
    min_value: float | None
    max_value: float | None

    def out_of_range(self, value: float) -> bool:
        return (self.min_value is not None and value < self.min_value) or (
            self.max_value is not None and value > self.max_value
        )


@dataclass(frozen=True)
class MetricChecks:
    """A device's metrics as arrays, for checking a message's readings in bulk: a reading of
    metric m looks its row up in `rows` (`unknown` for an undeclared metric, whose bounds no
    value meets)."""

    rows: dict[str, int]
    unknown: int
    series: npt.NDArray[np.int64]
    lo: npt.NDArray[np.float64]
    hi: npt.NDArray[np.float64]


@dataclass(frozen=True)
class DeviceEntry:
    id: uuid.UUID
    key: str
    kind: DeviceKind
    type: str
    status: DeviceStatus
    factory_id: uuid.UUID
    factory_slug: str
    factory_org: str | None
    factory_status: FactoryStatus
    edge_node_key: str | None
    secret_hash: str
    metrics: dict[str, MetricSpec] = field(default_factory=dict)
    bounds: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    """metric -> (series id, min, max) with open bounds as infinities: what ingest checks."""

    def __post_init__(self) -> None:
        if not self.bounds and self.metrics:
            self.bounds.update(
                {
                    name: (
                        spec.series_id,
                        -math.inf if spec.min_value is None else spec.min_value,
                        math.inf if spec.max_value is None else spec.max_value,
                    )
                    for name, spec in self.metrics.items()
                }
            )

    @functools.cached_property
    def checks(self) -> MetricChecks:
        names = list(self.bounds)
        return MetricChecks(
            rows={name: row for row, name in enumerate(names)},
            unknown=len(names),
            series=np.array([self.bounds[name][0] for name in names] + [0], dtype=np.int64),
            lo=np.array([self.bounds[name][1] for name in names] + [math.inf], np.float64),
            hi=np.array([self.bounds[name][2] for name in names] + [-math.inf], np.float64),
        )

    def refusal(self) -> str | None:
        """Why this device's readings are refused now, or None when they are accepted."""
        if self.status is DeviceStatus.SUSPENDED:
            return "device_suspended"
        if self.status is DeviceStatus.RETIRED:
            return "device_retired"
        if self.factory_status is not FactoryStatus.ACTIVE:
            return "factory_not_active"
        return None


class DeviceRegistry:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        refresh_s: float = 5.0,
        miss_ttl_s: float = 2.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.refresh_s = refresh_s
        self.miss_ttl_s = miss_ttl_s
        self._entries: dict[str, DeviceEntry] = {}
        self._misses: dict[str, float] = {}
        self._loaded_at = 0.0
        self._stale: set[str] = set()

    async def get(self, key: str) -> DeviceEntry | None:
        now = time.monotonic()
        if now - self._loaded_at > self.refresh_s:
            await self.reload()
        elif key in self._stale:
            await self._reload_keys([key])
        entry = self._entries.get(key)
        if entry is not None:
            return entry
        missed = self._misses.get(key)
        if missed is not None and now - missed < self.miss_ttl_s:
            return None
        await self._reload_keys([key])
        entry = self._entries.get(key)
        if entry is None:
            self._misses[key] = now
            if len(self._misses) > 10_000:
                self._misses.clear()
        return entry

    def invalidate(self, keys: Iterable[str]) -> None:
        """Reload these devices on their next lookup (call after the change commits)."""
        for key in keys:
            self._stale.add(key)
            self._misses.pop(key, None)

    async def reload(self) -> None:
        async with self.sessionmaker() as session:
            entries = await _load(session, None)
        self._entries = {entry.key: entry for entry in entries}
        self._stale.clear()
        self._misses.clear()
        self._loaded_at = time.monotonic()

    async def _reload_keys(self, keys: list[str]) -> None:
        async with self.sessionmaker() as session:
            entries = await _load(session, keys)
        found = {entry.key: entry for entry in entries}
        for key in keys:
            self._stale.discard(key)
            if key in found:
                self._entries[key] = found[key]
            else:
                self._entries.pop(key, None)

    def all(self) -> list[DeviceEntry]:
        return list(self._entries.values())


async def _load(session: AsyncSession, keys: list[str] | None) -> list[DeviceEntry]:
    devices = DeviceRepository(session)
    rows = await devices.with_factories(keys)
    if not rows:
        return []
    ids = [row[0].id for row in rows]
    metrics: dict[uuid.UUID, dict[str, MetricSpec]] = {device_id: {} for device_id in ids}
    for metric in await devices.metrics_of(None if keys is None else ids):
        metrics.setdefault(metric.device_id, {})[metric.name] = MetricSpec(
            series_id=metric.id,
            name=metric.name,
            unit=metric.unit,
            min_value=metric.min_value,
            max_value=metric.max_value,
        )
    return [
        DeviceEntry(
            id=device.id,
            key=device.key,
            kind=device.kind,
            type=device.type,
            status=device.status,
            factory_id=device.factory_id,
            factory_slug=slug,
            factory_org=org,
            factory_status=factory_status,
            edge_node_key=edge_key,
            secret_hash=device.secret_hash,
            metrics=metrics.get(device.id, {}),
        )
        for device, slug, org, factory_status, edge_key in rows
    ]
