"""Reading telemetry back: time ranges at raw, minute or hour resolution; dead letters."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

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


async def dead_letters(
    session: AsyncSession,
    subject: Subject,
    *,
    runtime: NodeRuntime,
    reason: str | None,
    page: PageRequest,
) -> Page[DeadLetter]:
    """Newest first (operators)."""
    await runtime.authorizer.check(subject, "node.deadletter.read")
    conditions = [] if reason is None else [DeadLetter.reason == reason]
    query = select(DeadLetter).where(*conditions).order_by(DeadLetter.id.desc())
    if page.after is not None:
        query = query.where(DeadLetter.id < int(page.after[0]))
    rows = (await session.scalars(query.limit(page.limit + 1))).all()

    async def count() -> int:
        counting = select(func.count()).select_from(DeadLetter).where(*conditions)
        return await session.scalar(counting) or 0

    return Page.from_rows(rows, page.limit, count)
