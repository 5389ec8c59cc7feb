"""SQL of reading telemetry back: readings and rollups of a series, the newest readings of
devices, dead letters. Ingest writes through `telemetry.store` (binary COPY), not here."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from regional_node.devices.models import DeviceMetric
from regional_node.telemetry.models import DeadLetter, HourRollup, MinuteRollup, Reading
from yunfab.graphql.pagination import Page, PageRequest


class TelemetryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def metric(self, device_id: uuid.UUID, name: str) -> DeviceMetric | None:
        """The device's metric of that name: its id names the series."""
        return (
            await self.session.scalars(
                select(DeviceMetric).where(
                    DeviceMetric.device_id == device_id, DeviceMetric.name == name
                )
            )
        ).one_or_none()

    async def readings(
        self, series_id: int, start_ms: int, end_ms: int, *, limit: int
    ) -> Sequence[Row[int, float]]:
        """(time, value) of the series in [start, end), oldest first, at most `limit`."""
        return (
            await self.session.execute(
                select(Reading.ts_ms, Reading.value)
                .where(
                    Reading.series_id == series_id,
                    Reading.ts_ms >= start_ms,
                    Reading.ts_ms < end_ms,
                )
                .order_by(Reading.ts_ms)
                .limit(limit)
            )
        ).all()

    async def readings_within(
        self, series_id: int, first_ms: int, last_ms: int
    ) -> Sequence[Row[int, float]]:
        """(time, value) of the series in [first, last], both ends in, oldest first."""
        return (
            await self.session.execute(
                select(Reading.ts_ms, Reading.value)
                .where(
                    Reading.series_id == series_id,
                    Reading.ts_ms >= first_ms,
                    Reading.ts_ms <= last_ms,
                )
                .order_by(Reading.ts_ms)
            )
        ).all()

    async def device_readings_since(
        self, device_id: uuid.UUID, since_ms: int, *, limit: int
    ) -> Sequence[Row[str, int, float]]:
        """(metric, time, value) of every metric of a device at or after `since_ms`: the newest
        `limit`, newest first."""
        return (
            await self.session.execute(
                select(DeviceMetric.name, Reading.ts_ms, Reading.value)
                .join(Reading, Reading.series_id == DeviceMetric.id)
                .where(DeviceMetric.device_id == device_id, Reading.ts_ms >= since_ms)
                .order_by(Reading.ts_ms.desc(), DeviceMetric.name)
                .limit(limit)
            )
        ).all()

    async def reading_before(self, series_id: int, ts_ms: int) -> Sequence[Row[int, float]]:
        """The series' last (time, value) before `ts_ms`: none or one row."""
        return (
            await self.session.execute(
                select(Reading.ts_ms, Reading.value)
                .where(Reading.series_id == series_id, Reading.ts_ms < ts_ms)
                .order_by(Reading.ts_ms.desc())
                .limit(1)
            )
        ).all()

    async def buckets(
        self, series_id: int, start_ms: int, end_ms: int, *, hourly: bool, limit: int
    ) -> Sequence[Row[int, int, float, float, float]]:
        """(bucket, count, sum, min, max) of the series' minute (or hour) rollups whose bucket
        starts in [start, end), oldest first, at most `limit`."""
        table = HourRollup if hourly else MinuteRollup
        return (
            await self.session.execute(
                select(table.bucket_ms, table.count, table.sum, table.min, table.max)
                .where(
                    table.series_id == series_id,
                    table.bucket_ms >= start_ms,
                    table.bucket_ms < end_ms,
                )
                .order_by(table.bucket_ms)
                .limit(limit)
            )
        ).all()

    async def newest_per_metric(
        self, device_ids: Collection[uuid.UUID]
    ) -> Sequence[Row[uuid.UUID, str, str, int, float]]:
        """(device, metric, unit, time, value) of each metric's newest raw reading, by device
        and metric; a metric with no reading kept is left out.

        There is no last-value table: the primary key (series, time) answers `max(time)` of a
        series with one backward index step on PostgreSQL and SQLite alike."""
        inner = aliased(Reading)
        newest = (
            select(func.max(inner.ts_ms))
            .where(inner.series_id == DeviceMetric.id)
            .correlate(DeviceMetric)
            .scalar_subquery()
        )
        return (
            await self.session.execute(
                select(
                    DeviceMetric.device_id,
                    DeviceMetric.name,
                    DeviceMetric.unit,
                    Reading.ts_ms,
                    Reading.value,
                )
                .join(Reading, (Reading.series_id == DeviceMetric.id) & (Reading.ts_ms == newest))
                .where(DeviceMetric.device_id.in_(list(device_ids)))
                .order_by(DeviceMetric.device_id, DeviceMetric.name)
            )  # fmt: skip
        ).all()

    async def dead_letter_page(
        self, conditions: Sequence[ColumnElement[bool]], page: PageRequest
    ) -> Page[DeadLetter]:
        """Newest first, by id: the cursor is `[id]`."""
        query = select(DeadLetter).where(*conditions).order_by(DeadLetter.id.desc())
        if page.after is not None:
            query = query.where(DeadLetter.id < int(page.after[0]))
        rows = (await self.session.scalars(query.limit(page.limit + 1))).all()

        async def count() -> int:
            counting = select(func.count()).select_from(DeadLetter).where(*conditions)
            return await self.session.scalar(counting) or 0

        return Page.from_rows(rows, page.limit, count)
