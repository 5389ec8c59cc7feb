"""Writing telemetry: one transaction per ingest batch, binary COPY on PostgreSQL.

A batch carries accepted readings, dead letters, the time range each series was written in (for
rollups) and device bookkeeping (last seen, first reading). All of it commits together or not at
all; the MQTT consumer acknowledges messages only after that commit, so a crash in between means
redelivery, and the primary key drops what was already stored.

Readings travel as columns (numpy arrays) from decoding to the write: PostgreSQL's binary COPY
data is laid out for a whole batch at once, not encoded value by value.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from asyncpg.exceptions import UniqueViolationError
from sqlalchemy import bindparam, case, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from regional_node.devices.models import Connection, Device, DeviceStatus
from regional_node.telemetry.models import DeadLetter, DirtyRange, SparkplugBirth
from yunfab.db import utcnow

Row = tuple[int, int, float]
"""(series id, device time in ms, value)"""


@dataclass(frozen=True)
class BirthChange:
    """A Sparkplug birth (kept: `payload` set) or death (forgotten) of an edge node (`device_id`
    empty) or a device. A new edge-node birth or death also forgets its devices' births."""

    group_id: str
    edge_node_id: str
    device_id: str
    topic: str
    payload: bytes | None


@dataclass
class WriteBatch:
    series: list[npt.NDArray[np.int64]] = field(default_factory=list)
    ts_ms: list[npt.NDArray[np.int64]] = field(default_factory=list)
    values: list[npt.NDArray[np.float64]] = field(default_factory=list)
    """Accepted readings, in parts (a message's each): rows (series[i][j], ts_ms[i][j],
    values[i][j])."""
    count: int = 0
    """How many readings the parts hold."""
    encoded: bytes | list[Row] | None = None
    """The readings as the database takes them (`TelemetryStore.encode`), made before the write
    so that the stage that writes does no more than write."""
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    dirty: dict[int, tuple[int, int]] = field(default_factory=dict)
    seen: dict[uuid.UUID, dt.datetime] = field(default_factory=dict)
    """Devices heard from (a reading accepted), with when: marks them active."""
    connections: dict[uuid.UUID, Connection] = field(default_factory=dict)
    births: list[BirthChange] = field(default_factory=list)
    """Sparkplug birth certificates to keep or forget, in the order they happened."""

    def add(
        self,
        series: npt.NDArray[np.int64],
        ts_ms: npt.NDArray[np.int64],
        values: npt.NDArray[np.float64],
    ) -> None:
        self.series.append(series)
        self.ts_ms.append(ts_ms)
        self.values.append(values)
        self.count += len(series)

    def columns(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Every reading of the batch as (series, ts_ms, values)."""
        return (
            np.concatenate(self.series) if self.series else np.empty(0, np.int64),
            np.concatenate(self.ts_ms) if self.ts_ms else np.empty(0, np.int64),
            np.concatenate(self.values) if self.values else np.empty(0, np.float64),
        )

    def rows(self) -> list[Row]:
        series, ts_ms, values = self.columns()
        return list(zip(series.tolist(), ts_ms.tolist(), values.tolist(), strict=True))

    def touch(self, series: set[int], lo_ms: int, hi_ms: int) -> None:
        """Mark [lo, hi] written for these series (a message's span: a little wider than each
        series' own span at worst, which only recomputes a few more rollup buckets)."""
        dirty = self.dirty
        for series_id in series:
            span = dirty.get(series_id)
            if span is None:
                dirty[series_id] = (lo_ms, hi_ms)
            elif lo_ms < span[0] or hi_ms > span[1]:
                dirty[series_id] = (min(lo_ms, span[0]), max(hi_ms, span[1]))


class TelemetryStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"

    async def births(self) -> list[tuple[str, bytes]]:
        """Kept births as (topic, payload): each edge node's NBIRTH before its devices'."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(SparkplugBirth.topic, SparkplugBirth.payload).order_by(
                        SparkplugBirth.group_id,
                        SparkplugBirth.edge_node_id,
                        SparkplugBirth.device_id,
                    )
                )
            ).all()
        return [(topic, bytes(payload)) for topic, payload in rows]

    def encode(self, batch: WriteBatch) -> None:
        """Lay the batch's readings out for the write: binary COPY data on PostgreSQL, rows on
        SQLite. Readings added after this are not written."""
        if self.postgres:
            batch.encoded = binary_copy(*batch.columns())
        else:
            batch.encoded = batch.rows()

    async def write(self, batch: WriteBatch) -> int:
        """Commit the batch; returns how many readings were new (the rest were duplicates)."""
        async with self.engine.begin() as conn:
            inserted = 0
            if batch.count:
                if batch.encoded is None:
                    self.encode(batch)
                if isinstance(batch.encoded, bytes):
                    inserted = await _copy_postgres(conn, batch.encoded)
                elif batch.encoded is not None:
                    inserted = await _insert_sqlite(conn, batch.encoded)
                await mark_dirty(conn, batch.dirty)
            if batch.dead_letters:
                await conn.execute(insert(DeadLetter), batch.dead_letters)
            if batch.seen:
                await conn.execute(
                    update(Device)
                    .where(Device.id == bindparam("device_id"))
                    .values(
                        last_seen_at=bindparam("seen_at", type_=Device.last_seen_at.type),
                        status=case(
                            (Device.status == DeviceStatus.PROVISIONED, DeviceStatus.ACTIVE),
                            else_=Device.status,
                        ),
                    ),
                    [
                        {"device_id": device_id, "seen_at": seen_at}
                        for device_id, seen_at in batch.seen.items()
                    ],
                )
            for birth in batch.births:
                await _apply_birth(conn, birth)
            for device_id, state in batch.connections.items():
                await conn.execute(
                    update(Device).where(Device.id == device_id).values(connection=state)
                )
        return inserted


async def _apply_birth(conn: AsyncConnection, birth: BirthChange) -> None:
    same_edge = (SparkplugBirth.group_id == birth.group_id) & (
        SparkplugBirth.edge_node_id == birth.edge_node_id
    )
    if birth.device_id:
        await conn.execute(
            delete(SparkplugBirth).where(same_edge, SparkplugBirth.device_id == birth.device_id)
        )
    else:
        await conn.execute(delete(SparkplugBirth).where(same_edge))
    if birth.payload is not None:
        await conn.execute(
            insert(SparkplugBirth).values(
                group_id=birth.group_id,
                edge_node_id=birth.edge_node_id,
                device_id=birth.device_id,
                topic=birth.topic[:512],
                payload=birth.payload,
                received_at=utcnow(),
            )
        )


_COPY_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("series_size", ">i4"),
        ("series", ">i4"),
        ("ts_size", ">i4"),
        ("ts_ms", ">i8"),
        ("value_size", ">i4"),
        ("value", ">f8"),
    ]
)
"""A row of PostgreSQL's binary COPY format for (integer, bigint, double precision): the field
count, then each field's size and its big-endian value."""
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
_COPY_TRAILER = b"\xff\xff"


def binary_copy(
    series: npt.NDArray[np.int64], ts_ms: npt.NDArray[np.int64], values: npt.NDArray[np.float64]
) -> bytes:
    """The rows as COPY ... (FORMAT binary) data."""
    rows = np.empty(len(series), dtype=_COPY_ROW)
    rows["fields"] = 3
    rows["series_size"] = 4
    rows["series"] = series
    rows["ts_size"] = 8
    rows["ts_ms"] = ts_ms
    rows["value_size"] = 8
    rows["value"] = values
    return b"".join((_COPY_HEADER, rows.tobytes(), _COPY_TRAILER))


async def _copy_postgres(conn: AsyncConnection, data: bytes) -> int:
    """COPY straight into the table when nothing in the batch is already stored (the usual
    case); when something is (a redelivery, a gateway's retry), COPY into a staging table and
    insert what is new. The straight COPY runs under a savepoint, so its failure on a duplicate
    undoes only itself. `data` is binary COPY data (`binary_copy`)."""
    # The transaction is open (the statement below runs in it) before COPY uses the same
    # connection, so the COPY commits or rolls back with everything else.
    await conn.execute(text("SAVEPOINT telemetry_copy"))
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    # A memoryview: asyncpg takes bytes for a file name.
    source = memoryview(data)
    columns = ("series_id", "ts_ms", "value")
    try:
        result = await driver.copy_to_table(
            "telemetry", source=source, columns=columns, format="binary"
        )
    except UniqueViolationError:
        await conn.execute(text("ROLLBACK TO SAVEPOINT telemetry_copy"))
    else:
        await conn.execute(text("RELEASE SAVEPOINT telemetry_copy"))
        return _copied(result)
    await conn.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS telemetry_stage "
            "(series_id integer, ts_ms bigint, value double precision) ON COMMIT DELETE ROWS"
        )
    )
    await driver.copy_to_table("telemetry_stage", source=source, columns=columns, format="binary")
    result = await conn.execute(
        text(
            "INSERT INTO telemetry (series_id, ts_ms, value) "
            "SELECT series_id, ts_ms, value FROM telemetry_stage "
            "ON CONFLICT (series_id, ts_ms) DO NOTHING"
        )
    )
    return int(result.rowcount)


def _copied(status: str) -> int:
    """The row count of a COPY command's status (`COPY 10000`)."""
    return int(status.rsplit(" ", 1)[1])


async def _insert_sqlite(conn: AsyncConnection, rows: list[Row]) -> int:
    # sqlite3 sums the rows each execution changed into the cursor's rowcount: ignored
    # duplicates are not counted.
    result = await conn.exec_driver_sql(
        "INSERT OR IGNORE INTO telemetry (series_id, ts_ms, value) VALUES (?, ?, ?)", rows
    )
    return int(result.rowcount)


async def mark_dirty(conn: AsyncConnection, dirty: dict[int, tuple[int, int]]) -> None:
    """Widen each series' dirty range (rows in series order: concurrent writers lock them in
    the same order and cannot deadlock)."""
    if not dirty:
        return
    values = [{"series_id": s, "lo_ms": lo, "hi_ms": hi} for s, (lo, hi) in sorted(dirty.items())]
    if conn.dialect.name == "postgresql":
        pg = pg_insert(DirtyRange)
        await conn.execute(
            pg.on_conflict_do_update(
                index_elements=[DirtyRange.series_id],
                set_={
                    "lo_ms": func.least(DirtyRange.lo_ms, pg.excluded.lo_ms),
                    "hi_ms": func.greatest(DirtyRange.hi_ms, pg.excluded.hi_ms),
                },
            ),
            values,
        )
    else:
        lite = sqlite_insert(DirtyRange)
        await conn.execute(
            lite.on_conflict_do_update(
                index_elements=[DirtyRange.series_id],
                set_={
                    "lo_ms": func.min(DirtyRange.lo_ms, lite.excluded.lo_ms),
                    "hi_ms": func.max(DirtyRange.hi_ms, lite.excluded.hi_ms),
                },
            ),
            values,
        )
