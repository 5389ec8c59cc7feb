"""Reading telemetry back: time ranges at raw, minute or hour resolution; dead letters."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from regional_node.devices.models import DeviceMetric
from regional_node.devices.service import device_with_factory
from regional_node.runtime import NodeRuntime
from regional_node.telemetry.models import DeadLetter, HourRollup, MinuteRollup, Reading
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
    metric = (
        await session.scalars(
            select(DeviceMetric).where(
                DeviceMetric.device_id == device.id, DeviceMetric.name == query.metric
            )
        )
    ).one_or_none()
    if metric is None:
        raise NotFound(f"device {device.key} has no metric {query.metric!r}")
    if query.resolution is Resolution.RAW:
        rows = (
            await session.execute(
                select(Reading.ts_ms, Reading.value)
                .where(
                    Reading.series_id == metric.id,
                    Reading.ts_ms >= query.start_ms,
                    Reading.ts_ms < query.end_ms,
                )
                .order_by(Reading.ts_ms)
                .limit(query.limit)
            )
        ).all()
        return metric, [Point(ts_ms=ts, value=value) for ts, value in rows]
    table = MinuteRollup if query.resolution is Resolution.MINUTE else HourRollup
    buckets = (
        await session.execute(
            select(table.bucket_ms, table.count, table.sum, table.min, table.max)
            .where(
                table.series_id == metric.id,
                table.bucket_ms >= query.start_ms,
                table.bucket_ms < query.end_ms,
            )
            .order_by(table.bucket_ms)
            .limit(query.limit)
        )
    ).all()
    return metric, [
        Point(ts_ms=bucket, value=total / count, count=count, min=low, max=high)
        for bucket, count, total, low, high in buckets
    ]


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
    inner = aliased(Reading)
    newest = (
        select(func.max(inner.ts_ms))
        .where(inner.series_id == DeviceMetric.id)
        .correlate(DeviceMetric)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(DeviceMetric.device_id, DeviceMetric.name, DeviceMetric.unit, Reading.ts_ms,
               Reading.value)
        .join(Reading, (Reading.series_id == DeviceMetric.id) & (Reading.ts_ms == newest))
        .where(DeviceMetric.device_id.in_(list(device_ids)))
        .order_by(DeviceMetric.device_id, DeviceMetric.name)
    )  # fmt: skip
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
    conditions = where.conditions()
    query = select(DeadLetter).where(*conditions).order_by(DeadLetter.id.desc())
    if page.after is not None:
        query = query.where(DeadLetter.id < int(page.after[0]))
    rows = (await session.scalars(query.limit(page.limit + 1))).all()

    async def count() -> int:
        counting = select(func.count()).select_from(DeadLetter).where(*conditions)
        return await session.scalar(counting) or 0

    return Page.from_rows(rows, page.limit, count)
