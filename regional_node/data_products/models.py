"""The outbox of the node's data products: what has been queued for the hub, and what waits.

Sync must survive a cut connection and a restart, and a resend must change nothing at the hub:
so batches are numbered and kept here until the hub acknowledges them, and the rows they carry
are remembered by content hash, so the next round only sends what changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from regional_node.db import Base
from yunfab.db import UTCDateTime, utcnow


class ProductStream(Base):
    """One data product's numbering: the seq its next batch gets."""

    __tablename__ = "data_product_streams"

    product: Mapped[str] = mapped_column(String(63), primary_key=True)
    next_seq: Mapped[int] = mapped_column(Integer, default=1)
    needs_snapshot: Mapped[bool] = mapped_column(Boolean, default=True)
    """Set at first and after the hub lost track: the next batches are a full snapshot."""
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class QueuedRow(Base):
    """A row as last queued for the hub (by content hash): what the next diff starts from."""

    __tablename__ = "data_product_rows"

    product: Mapped[str] = mapped_column(
        String(63),
        ForeignKey("data_product_streams.product", ondelete="CASCADE"),
        primary_key=True,
    )
    row_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))


class PendingBatch(Base):
    """A batch queued for the hub and not yet acknowledged; sent in seq order."""

    __tablename__ = "data_product_batches"

    product: Mapped[str] = mapped_column(
        String(63),
        ForeignKey("data_product_streams.product", ondelete="CASCADE"),
        primary_key=True,
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    """snapshot or increment."""
    snapshot: Mapped[int | None] = mapped_column(Integer)
    """Snapshot chunks: the snapshot's id, the seq of its first chunk."""
    last: Mapped[bool | None] = mapped_column(Boolean)
    """Snapshot chunks: this chunk completes the snapshot."""
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    """{"upserts": [{"key", "data"}], "deletes": [key]}."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
