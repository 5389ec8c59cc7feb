from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    text,
)
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
    for_s: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """The condition must hold this long (device time) before the alert opens."""
    clear_above: Mapped[float | None] = mapped_column(Float)
    """Hysteresis: an alert open over `above` closes only once the value is at or below this."""
    clear_below: Mapped[float | None] = mapped_column(Float)
    """Hysteresis: an alert open under `below` closes only once the value is at or above this."""
    clear_for_s: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """The clear condition must hold this long before the alert closes."""
    escalate_above: Mapped[float | None] = mapped_column(Float)
    escalate_below: Mapped[float | None] = mapped_column(Float)
    escalate_after_s: Mapped[int | None] = mapped_column(Integer)
    """An alert still open this long after it opened escalates."""
    escalate_to: Mapped[Severity | None] = mapped_column(str_enum(Severity))


rule_contact_points = Table(
    "alert_rule_contact_points",
    Base.metadata,
    Column("rule_id", Uuid, ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "contact_point_id",
        Uuid,
        ForeignKey("contact_points.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)
"""Where a rule's notifications go; a rule with none uses its factory's default contact points."""


class AlertSilence(Base):
    """While a silence holds, the rule's alerts still open and close, but their notifications are
    recorded as silenced and not sent. A one-off window (`starts_at`/`ends_at`), a daily window
    in the node's time zone (`daily_from`/`daily_to`, "HH:MM", may wrap midnight), or a daily
    window only between those dates."""

    __tablename__ = "alert_silences"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    rule_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alert_rules.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    daily_from: Mapped[str | None] = mapped_column(String(5))
    daily_to: Mapped[str | None] = mapped_column(String(5))
    comment: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContactKind(enum.StrEnum):
    WEBHOOK = "webhook"
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    FEISHU = "feishu"
    EMAIL = "email"


class ContactPoint(Base):
    """Where notifications go. The URL (a robot's URL holds its access token) and the signing
    secret are sealed (`regional_node.alerts.sealing`) and never read back through the API."""

    __tablename__ = "contact_points"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    factory_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("factories.id", ondelete="CASCADE"), index=True
    )
    """None: a node-wide contact point, the node operator's."""
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ContactKind] = mapped_column(str_enum(ContactKind))
    target: Mapped[str] = mapped_column(String(300))
    """What may be shown: the URL's scheme and host, or the recipients."""
    url_sealed: Mapped[str | None] = mapped_column(Text)
    secret_sealed: Mapped[str | None] = mapped_column(Text)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


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
    acknowledge_note: Mapped[str | None] = mapped_column(String(500))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class NotificationEvent(enum.StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"
    CLOSED = "closed"
    TEST = "test"


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    SILENCED = "silenced"
    """Recorded during a silence, never sent."""


class AlertNotification(Base):
    """The outbox: written in the transaction that opens, escalates or closes the alert, so a
    transition is never without its notifications; the delivery worker sends what is due."""

    __tablename__ = "alert_notifications"
    __table_args__ = (Index("ix_alert_notifications_due", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("alerts.id", ondelete="CASCADE"), index=True
    )
    contact_point_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("contact_points.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[NotificationEvent] = mapped_column(str_enum(NotificationEvent))
    status: Mapped[NotificationStatus] = mapped_column(str_enum(NotificationStatus))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The facts of the message as they were at the transition (rendered when sent)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class DeliveryAttempt(Base):
    """One try at sending a notification: the receiver's status code or the error, how long."""

    __tablename__ = "alert_delivery_attempts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    notification_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("alert_notifications.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer)
