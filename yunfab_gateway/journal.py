"""Store and forward: every reading is written to a SQLite journal (WAL) before it is sent, and
deleted only once the broker acknowledged the message that carried it (PUBACK, QoS 1).

While the broker or the network is away the journal grows; when they return its rows go out
oldest first with their own timestamps. A row the journal took (its transaction committed) is
not lost by a crash or a `kill -9` (`synchronous = normal`) nor, with `full`, by a power cut.
It is bounded by rows and by bytes: past either, the oldest rows are dropped and counted, so a
gateway cut off for weeks keeps the newest data rather than stopping.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROW_OVERHEAD: Final = 40
"""Bytes a row costs beyond its texts (id, time, value, SQLite's record and index), for the
byte bound; measured on SQLite 3.4x, rounded up."""


@dataclass(frozen=True)
class Entry:
    id: int
    device: str
    metric: str
    ts_ms: int
    value: float | int | bool


@dataclass(frozen=True)
class JournalStats:
    rows: int
    bytes: int
    dropped: int
    appended: int
    deleted: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL,
    metric TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    value ANY,
    size INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
"""


class Journal:
    """Thread-safe (one connection behind a lock); calls are short, so the gateway makes them
    from its event loop through `asyncio.to_thread` only for large batches."""

    def __init__(
        self,
        path: Path,
        *,
        max_rows: int = 2_000_000,
        max_bytes: int = 256 << 20,
        synchronous: str = "full",
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
        self._db.executescript(_SCHEMA)
        for name in ("dropped", "appended", "deleted"):
            self._db.execute("INSERT OR IGNORE INTO counters (name, value) VALUES (?, 0)", (name,))
        row = self._db.execute("SELECT count(*), coalesce(sum(size), 0) FROM readings").fetchone()
        self._rows, self._bytes = int(row[0]), int(row[1])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _count(self, name: str, by: int) -> None:
        self._db.execute("UPDATE counters SET value = value + ? WHERE name = ?", (by, name))

    def append(self, rows: Iterable[tuple[str, str, int, float | int | bool]]) -> int:
        """Journal readings (device, metric, ts_ms, value) in one transaction; returns how many.
        Once this returns they survive a crash."""
        batch = [
            (device, metric, ts, value, len(device) + len(metric) + ROW_OVERHEAD)
            for device, metric, ts, value in rows
        ]
        if not batch:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO readings (device, metric, ts_ms, value, size) "
                    "VALUES (?, ?, ?, ?, ?)",
                    batch,
                )
                self._rows += len(batch)
                self._bytes += sum(row[4] for row in batch)
                self._count("appended", len(batch))
                self._enforce_bounds()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._reload()
                raise
        return len(batch)

    def _reload(self) -> None:
        row = self._db.execute("SELECT count(*), coalesce(sum(size), 0) FROM readings").fetchone()
        self._rows, self._bytes = int(row[0]), int(row[1])

    def _enforce_bounds(self) -> None:
        over_rows = self._rows - self.max_rows
        if over_rows <= 0 and self._bytes <= self.max_bytes:
            return
        # Drop the oldest: enough rows for the row bound, then more while over the byte bound
        # (a step at a time, so that rows of very different sizes are handled).
        dropped = 0
        step = max(over_rows, 0)
        while self._rows > self.max_rows or self._bytes > self.max_bytes:
            if step <= 0:
                average = max(self._bytes // max(self._rows, 1), 1)
                step = max((self._bytes - self.max_bytes) // average, 1)
            gone = self._db.execute(
                "DELETE FROM readings WHERE id IN "
                "(SELECT id FROM readings ORDER BY id LIMIT ?) RETURNING size",
                (step,),
            ).fetchall()
            if not gone:
                break
            self._rows -= len(gone)
            self._bytes -= sum(int(size) for (size,) in gone)
            dropped += len(gone)
            step = 0
        if dropped:
            self._count("dropped", dropped)

    def oldest(self, limit: int, *, after_id: int = 0) -> list[Entry]:
        """Up to `limit` rows in journal order (the order they were read), from after `after_id`."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, device, metric, ts_ms, value FROM readings WHERE id > ? "
                "ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [Entry(int(r[0]), str(r[1]), str(r[2]), int(r[3]), r[4]) for r in rows]

    def delete(self, ids: Sequence[int]) -> int:
        """Forget rows the broker acknowledged; rows already gone (dropped) are skipped."""
        if not ids:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                gone = 0
                size = 0
                for start in range(0, len(ids), 500):
                    chunk = list(ids[start : start + 500])
                    marks = ",".join("?" * len(chunk))
                    rows = self._db.execute(
                        f"DELETE FROM readings WHERE id IN ({marks}) RETURNING size",  # noqa: S608
                        chunk,
                    ).fetchall()
                    gone += len(rows)
                    size += sum(int(s) for (s,) in rows)
                self._count("deleted", gone)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._reload()
                raise
            self._rows -= gone
            self._bytes -= size
        return gone

    def next_bd_seq(self) -> int:
        """The Sparkplug bdSeq for the next MQTT session, kept here so that a restarted gateway
        never reuses the one its previous process's will (NDEATH) carries."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT value FROM counters WHERE name = 'bd_seq'").fetchone()
            value = 0 if row is None else (int(row[0]) + 1) % 256
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES ('bd_seq', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (value,),
            )
            self._db.execute("COMMIT")
        return value

    def stats(self) -> JournalStats:
        with self._lock:
            counters = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
            return JournalStats(
                rows=self._rows,
                bytes=self._bytes,
                dropped=int(counters.get("dropped", 0)),
                appended=int(counters.get("appended", 0)),
                deleted=int(counters.get("deleted", 0)),
            )
