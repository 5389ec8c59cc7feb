"""Reading telemetry back: time ranges at raw, minute or hour resolution; dead letters."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.devices.models import DeviceMetric
from regional_node.devices.service import device_with_factory
from regional_node.runtime import NodeRuntime
from regional_node.telemetry.models import DeadLetter
from regional_node.telemetry.repository import TelemetryRepository
from yunfab.errors import InvalidInput, NotFound
from yunfab.graphql.pagination import Page, PageRequest
from yunfab.subject import Subject

MAX_POINTS = 10_000


class Resolution(enum.StrEnum):
    RAW = "raw"
    MINUTE = "minute"
    HOUR = "hour"


@dataclass(frozen=True)
class Point:
    ts_ms: int
    value: float
    """The reading, or the mean of the bucket."""
    count: int = 1
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class SeriesQuery:
    device_id: uuid.UUID
    metric: str
    start_ms: int
    end_ms: int
    resolution: Resolution = Resolution.RAW
    limit: int = 1000


async def series(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, query: SeriesQuery
) -> tuple[DeviceMetric, Sequence[Point]]:
    """Points of one metric of one device in [start, end), oldest first."""
    device, _ = await device_with_factory(
        session,
        subject,
        runtime=runtime,
        device_id=query.device_id,
        action="node.telemetry.read",
    )
    if query.end_ms <= query.start_ms:
        raise InvalidInput("to must be after from")
    if not 1 <= query.limit <= MAX_POINTS:
        raise InvalidInput(f"limit: 1 to {MAX_POINTS}")
    telemetry = TelemetryRepository(session)
    metric = await telemetry.metric(device.id, query.metric)
    if metric is None:
        raise NotFound(f"device {device.key} has no metric {query.metric!r}")
    if query.resolution is Resolution.RAW:
        rows = await telemetry.readings(metric.id, query.start_ms, query.end_ms, limit=query.limit)
        return metric, [Point(ts_ms=ts, value=value) for ts, value in rows]
    buckets = await telemetry.buckets(
        metric.id,
        query.start_ms,
        query.end_ms,
        hourly=query.resolution is not Resolution.MINUTE,
        limit=query.limit,
    )
    return metric, [
        Point(ts_ms=bucket, value=total / count, count=count, min=low, max=high)
        for bucket, count, total, low, high in buckets
    ]


CATCH_UP_LIMIT = 1000
"""The most stored readings a live subscription replays before it follows."""


async def readings_since(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    device_id: uuid.UUID,
    since_ms: int,
    limit: int = CATCH_UP_LIMIT,
) -> list[tuple[str, int, float]]:
    """(metric, time, value) of a device's stored readings at or after `since_ms` (device time),
    oldest first: the newest `limit` of them."""
    device, _ = await device_with_factory(
        session, subject, runtime=runtime, device_id=device_id, action="node.telemetry.read"
    )
    rows = await TelemetryRepository(session).device_readings_since(
        device.id, since_ms, limit=limit
    )
    return [(name, ts, value) for name, ts, value in reversed(rows)]


@dataclass(frozen=True)
class LatestValue:
    metric: str
    unit: str
    ts_ms: int
    value: float


async def latest_values(
    session: AsyncSession, device_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[LatestValue]]:
    """Each device's newest raw reading per metric, for many devices in one query.

    There is no last-value table: the primary key (series, time) answers `max(time)` of a series
    with one backward index step on PostgreSQL and SQLite alike, so a device costs one seek per
    metric, however long its history. A metric with no reading kept (none yet, or older than raw
    retention) is left out."""
    if not device_ids:
        return {}
    rows = await TelemetryRepository(session).newest_per_metric(device_ids)
    found: dict[uuid.UUID, list[LatestValue]] = {device_id: [] for device_id in device_ids}
    for device_id, name, unit, ts_ms, value in rows:
        found[device_id].append(LatestValue(metric=name, unit=unit, ts_ms=ts_ms, value=value))
    return found


@dataclass(frozen=True)
class DeadLetterFilter:
    reason: str | None = None
    device_key: str | None = None
    source: str | None = None
    """mqtt or http."""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    """Received in [since, until)."""

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.reason is not None:
            found.append(DeadLetter.reason == self.reason)
        if self.device_key is not None:
            found.append(DeadLetter.device_key == self.device_key)
        if self.source is not None:
            found.append(DeadLetter.source == self.source)
        if self.since is not None:
            found.append(DeadLetter.received_at >= self.since)
        if self.until is not None:
            found.append(DeadLetter.received_at < self.until)
        return found


async def dead_letters(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    where: DeadLetterFilter,
    page: PageRequest,
) -> Page[DeadLetter]:
    """Newest first (operators)."""
    await runtime.authorizer.check(subject, "node.deadletter.read")
    return await TelemetryRepository(session).dead_letter_page(where.conditions(), page)
