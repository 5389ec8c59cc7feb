"""1-minute and 1-hour rollups, recomputed from raw readings; retention of each tier.

Ingest records, per series, the time range it wrote (`telemetry_dirty`, in the same transaction
as the readings). `refresh` takes those ranges and recomputes every whole minute bucket they
touch from the raw table, then every hour bucket from the minutes. Recomputing rather than
adding makes late, buffered and duplicate readings come out right without any bookkeeping.
Readings older than the raw retention are refused at ingest, so a recomputed bucket never
misses raw rows that retention already removed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass

import structlog
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from regional_node.telemetry import partitions
from regional_node.telemetry.models import (
    DeadLetter,
    DirtyRange,
    HourRollup,
    MinuteRollup,
    Reading,
)
from regional_node.telemetry.store import mark_dirty
from yunfab.db import utcnow

log = structlog.get_logger(__name__)

MINUTE_MS = 60_000
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Retention:
    raw_s: float
    minute_s: float
    hour_s: float | None
    """None keeps hourly rollups for good."""
    dead_letter_s: float = 30 * 86400


def _upsert(target: str, source_select: str) -> str:
    return (
        f"INSERT INTO {target} (series_id, bucket_ms, count, sum, min, max) {source_select} "
        "ON CONFLICT (series_id, bucket_ms) DO UPDATE SET count = excluded.count, "
        "sum = excluded.sum, min = excluded.min, max = excluded.max"
    )


_MINUTES = _upsert(
    "telemetry_1m",
    "SELECT series_id, (ts_ms / 60000) * 60000 AS bucket, count(*), sum(value), min(value), "
    "max(value) FROM telemetry WHERE series_id = :series AND ts_ms >= :lo AND ts_ms < :hi "
    "GROUP BY series_id, (ts_ms / 60000) * 60000",
)
_HOURS = _upsert(
    "telemetry_1h",
    "SELECT series_id, (bucket_ms / 3600000) * 3600000 AS bucket, sum(count), sum(sum), "
    "min(min), max(max) FROM telemetry_1m WHERE series_id = :series AND bucket_ms >= :lo "
    "AND bucket_ms < :hi GROUP BY series_id, (bucket_ms / 3600000) * 3600000",
)


async def refresh(engine: AsyncEngine, *, limit: int = 500) -> int:
    """Recompute the rollups of up to `limit` dirty series; returns how many were done.

    The dirty ranges are claimed (deleted) before the raw table is read: a reading committed
    after the claim marks its series dirty again and is picked up next time, so none is missed.
    If the recompute fails, the claimed ranges are marked dirty again.
    """
    async with engine.begin() as conn:
        chosen = select(DirtyRange.series_id).order_by(DirtyRange.series_id).limit(limit)
        claimed = (
            await conn.execute(
                delete(DirtyRange)
                .where(DirtyRange.series_id.in_(chosen.scalar_subquery()))
                .returning(DirtyRange.series_id, DirtyRange.lo_ms, DirtyRange.hi_ms)
            )
        ).all()
    ranges = sorted((int(s), int(lo), int(hi)) for s, lo, hi in claimed)
    try:
        async with engine.begin() as conn:
            for series, lo, hi in ranges:
                await recompute(conn, series, lo, hi)
    except Exception:
        async with engine.begin() as conn:
            await mark_dirty(conn, {series: (lo, hi) for series, lo, hi in ranges})
        raise
    return len(ranges)


async def recompute(
    conn: AsyncConnection | AsyncSession, series: int, lo_ms: int, hi_ms: int
) -> None:
    """Recompute one series' minute buckets touching [lo_ms, hi_ms], then its hour buckets."""
    minute_lo = lo_ms - lo_ms % MINUTE_MS
    minute_hi = hi_ms - hi_ms % MINUTE_MS + MINUTE_MS
    await conn.execute(text(_MINUTES), {"series": series, "lo": minute_lo, "hi": minute_hi})
    hour_lo = lo_ms - lo_ms % HOUR_MS
    hour_hi = hi_ms - hi_ms % HOUR_MS + HOUR_MS
    await conn.execute(text(_HOURS), {"series": series, "lo": hour_lo, "hi": hour_hi})


async def apply_retention(engine: AsyncEngine, retention: Retention) -> dict[str, int]:
    now_ms = int(time.time() * 1000)
    removed: dict[str, int] = {}
    raw_cutoff = now_ms - int(retention.raw_s * 1000)
    async with engine.begin() as conn:
        # PostgreSQL: whole days go with their partitions; the next days' are made ready.
        removed["raw_partitions"] = len(await partitions.drop_expired(conn, raw_cutoff))
        await partitions.keep_ready(conn, now_ms=now_ms, retention_ms=now_ms - raw_cutoff)
        result = await conn.execute(delete(Reading).where(Reading.ts_ms < raw_cutoff))
        removed["raw"] = int(result.rowcount)
        result = await conn.execute(
            delete(MinuteRollup).where(
                MinuteRollup.bucket_ms < now_ms - int(retention.minute_s * 1000)
            )
        )
        removed["minute"] = int(result.rowcount)
        result = await conn.execute(
            delete(DeadLetter).where(
                DeadLetter.received_at < utcnow() - dt.timedelta(seconds=retention.dead_letter_s)
            )
        )
        removed["dead_letters"] = int(result.rowcount)
        if retention.hour_s is not None:
            result = await conn.execute(
                delete(HourRollup).where(
                    HourRollup.bucket_ms < now_ms - int(retention.hour_s * 1000)
                )
            )
            removed["hour"] = int(result.rowcount)
    return removed


async def maintain(
    engine: AsyncEngine,
    retention: Retention,
    *,
    rollup_every_s: float,
    retention_every_s: float = 3600.0,
) -> None:
    """Run until cancelled: rollups every few seconds, retention every hour."""
    last_retention = 0.0
    while True:
        try:
            while await refresh(engine) > 0:
                pass
            if time.monotonic() - last_retention >= retention_every_s:
                removed = await apply_retention(engine, retention)
                last_retention = time.monotonic()
                if any(removed.values()):
                    log.info("telemetry_retention", **removed)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("telemetry_maintenance_failed")
        await asyncio.sleep(rollup_every_s)
