from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from regional_node.db import Base
from yunfab.db import UTCDateTime, new_id, str_enum, utcnow


class RuleKind(enum.StrEnum):
    THRESHOLD = "threshold"
    """Value above `above` or below `below`."""
    RATE_OF_CHANGE = "rate_of_change"
    """Value moving faster than `rate_per_min` (either way) between two readings."""
    STALE = "stale"
    """No reading of the metric for `stale_after_s`."""


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertRule(Base):
    """Applies to one device, or to every device of a type (optionally of one factory)."""

    __tablename__ = "alert_rules"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[RuleKind] = mapped_column(str_enum(RuleKind))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity), default=Severity.WARNING)
    metric: Mapped[str] = mapped_column(String(63))
    device_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("devices.id", ondelete="CASCADE"), index=True
    )
    device_type: Mapped[str | None] = mapped_column(String(63))
    factory_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("factories.id", ondelete="CASCADE"), index=True
    )
    above: Mapped[float | None] = mapped_column(Float)
    below: Mapped[float | None] = mapped_column(Float)
    rate_per_min: Mapped[float | None] = mapped_column(Float)
    stale_after_s: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        # At most one alert not yet closed per rule and device.
        Index(
            "uq_alerts_live",
            "rule_id",
            "device_id",
            unique=True,
            sqlite_where=text("status != 'closed'"),
            postgresql_where=text("status != 'closed'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    rule_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alert_rules.id", ondelete="CASCADE")
    )
    device_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("devices.id", ondelete="CASCADE"), index=True
    )
    factory_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("factories.id", ondelete="CASCADE"), index=True
    )
    metric: Mapped[str] = mapped_column(String(63))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity))
    status: Mapped[AlertStatus] = mapped_column(str_enum(AlertStatus), default=AlertStatus.OPEN)
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(128))
    close_reason: Mapped[str | None] = mapped_column(Text)
