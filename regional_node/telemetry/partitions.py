"""Raw readings partitioned by day on PostgreSQL, so retention drops whole partitions.

On PostgreSQL the `telemetry` table is declaratively partitioned by range of `ts_ms`: one
partition per UTC day (`telemetry_pYYYYMMDD`, `[midnight, next midnight)`) and a default
partition that catches a reading of a day without one (`telemetry_default`). The node keeps
partitions from the oldest day its retention keeps to `AHEAD_DAYS` ahead, at start and with
each retention pass; a new day's partition takes over that day's rows from the default in the
same transaction. Retention drops every partition that ends before the cut-off (no row-by-row
delete, no table bloat) and deletes only the older rows of the day the cut-off falls in and
of the default partition.

SQLite (the embedded default) keeps one table and deletes old rows.
"""

from __future__ import annotations

import datetime as dt
import re

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

log = structlog.get_logger(__name__)

DAY_MS = 86_400_000
AHEAD_DAYS = 3
"""Days after today with a partition ready (readings may come a little from the future)."""
PARENT = "telemetry"
DEFAULT = "telemetry_default"
_NAME = re.compile(r"telemetry_p(\d{8})")


def partition_name(day_start_ms: int) -> str:
    day = dt.datetime.fromtimestamp(day_start_ms / 1000, tz=dt.UTC)
    return f"telemetry_p{day:%Y%m%d}"


def day_of(ms: int) -> int:
    return ms - ms % DAY_MS


def is_partition_table(name: str) -> bool:
    """A table the node made as a partition (not in the models: migrations' drift check skips
    these)."""
    return name == DEFAULT or _NAME.fullmatch(name) is not None


async def partitioned(conn: AsyncConnection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    found = await conn.scalar(
        text(
            "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = :parent AND c.relnamespace = current_schema()::regnamespace"
        ),
        {"parent": PARENT},
    )
    return found is not None


async def day_partitions(conn: AsyncConnection) -> dict[int, str]:
    """Day start (ms) -> partition name, for the daily partitions that exist."""
    rows = await conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = :parent AND p.relnamespace = current_schema()::regnamespace"
        ),
        {"parent": PARENT},
    )
    days: dict[int, str] = {}
    for (name,) in rows:
        match = _NAME.fullmatch(name)
        if match:
            day = dt.datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=dt.UTC)
            days[int(day.timestamp() * 1000)] = name
    return days


async def ensure_partitions(conn: AsyncConnection, first_ms: int, last_ms: int) -> list[str]:
    """Daily partitions for every day from `first_ms` to `last_ms` (both included); rows of
    those days waiting in the default partition move into theirs. Returns the names created.
    Nothing to do where the table is not partitioned."""
    if not await partitioned(conn):
        return []
    created: list[str] = []
    # One maker at a time across replicas; the others find the partitions made.
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('yunfab.telemetry.parts'))"))
    existing = await day_partitions(conn)
    day = day_of(first_ms)
    while day <= last_ms:
        if day not in existing:
            name = partition_name(day)
            bounds = {"lo": day, "hi": day + DAY_MS}
            await conn.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)"))
            await conn.execute(
                text(
                    f"WITH moved AS (DELETE FROM {DEFAULT} WHERE ts_ms >= :lo AND ts_ms < :hi "
                    f"RETURNING series_id, ts_ms, value) "
                    f"INSERT INTO {name} (series_id, ts_ms, value) "
                    f"SELECT series_id, ts_ms, value FROM moved"
                ),
                bounds,
            )
            # Bounds are integers computed here, not input: inlined as DDL needs.
            await conn.execute(
                text(
                    f"ALTER TABLE {PARENT} ATTACH PARTITION {name} "
                    f"FOR VALUES FROM ({day}) TO ({day + DAY_MS})"
                )
            )
            created.append(name)
        day += DAY_MS
    if created:
        log.info("telemetry_partitions_created", partitions=created)
    return created


async def drop_expired(conn: AsyncConnection, cutoff_ms: int) -> list[str]:
    """Drop the daily partitions that end at or before `cutoff_ms`; returns their names."""
    if not await partitioned(conn):
        return []
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('yunfab.telemetry.parts'))"))
    dropped = []
    for day, name in sorted((await day_partitions(conn)).items()):
        if day + DAY_MS <= cutoff_ms:
            await conn.execute(text(f"ALTER TABLE {PARENT} DETACH PARTITION {name}"))
            await conn.execute(text(f"DROP TABLE {name}"))
            dropped.append(name)
    if dropped:
        log.info("telemetry_partitions_dropped", partitions=dropped)
    return dropped


async def keep_ready(conn: AsyncConnection, *, now_ms: int, retention_ms: int) -> list[str]:
    """Partitions from the oldest kept day to `AHEAD_DAYS` after today."""
    return await ensure_partitions(conn, now_ms - retention_ms, now_ms + AHEAD_DAYS * DAY_MS)
