from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from regional_node.db import Base
from yunfab.db import UTCDateTime, utcnow

# Times in the telemetry tables are device times in integer milliseconds since the epoch: one
# narrow integer keys the primary index and binary COPY writes it without conversions.


class Reading(Base):
    """One raw reading. The primary key (series, time) is the time-range index and drops a
    reading sent twice. No foreign key: ingest writes only series it resolved from the device
    registry, metrics are never deleted, and a per-row key check would cost the hot path."""

    __tablename__ = "telemetry"

    series_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class _Rollup:
    series_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("device_metrics.id", ondelete="CASCADE"), primary_key=True
    )
    bucket_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    sum: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)


class MinuteRollup(_Rollup, Base):
    __tablename__ = "telemetry_1m"


class HourRollup(_Rollup, Base):
    __tablename__ = "telemetry_1h"


class DirtyRange(Base):
    """Time ranges of a series written since its rollups were last recomputed. Written in the
    same transaction as the readings, so a crash never leaves rollups silently stale."""

    __tablename__ = "telemetry_dirty"

    series_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("device_metrics.id", ondelete="CASCADE"), primary_key=True
    )
    lo_ms: Mapped[int] = mapped_column(BigInteger)
    hi_ms: Mapped[int] = mapped_column(BigInteger)


class DeadLetter(Base):
    """Something sent to the node that it could not accept, kept with the reason and the bytes."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(16))
    """mqtt or http."""
    topic: Mapped[str | None] = mapped_column(String(512))
    device_key: Mapped[str | None] = mapped_column(String(63), index=True)
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class SparkplugBirth(Base):
    """The last birth certificate of each Sparkplug edge node and device the node accepted.

    Kept so that a restarted node can replay them into its host state: messages the broker kept
    for it while it was down name metrics by alias, and only a birth says what an alias means.
    """

    __tablename__ = "sparkplug_births"

    group_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    edge_node_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    """Empty for the edge node's own NBIRTH."""
    topic: Mapped[str] = mapped_column(String(512))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
