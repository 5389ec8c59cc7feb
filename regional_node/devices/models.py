from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from regional_node.db import Base
from yunfab.db import UTCDateTime, new_id, str_enum, utcnow


class DeviceKind(enum.StrEnum):
    DEVICE = "device"
    """A machine or sensor that sends its own readings (plain JSON or HTTP)."""
    EDGE_NODE = "edge_node"
    """A Sparkplug B edge node: a gateway that speaks for the devices provisioned under it."""


class DeviceStatus(enum.StrEnum):
    PROVISIONED = "provisioned"
    """Credentials issued, nothing accepted yet."""
    ACTIVE = "active"
    """Its readings are accepted."""
    SUSPENDED = "suspended"
    """Refused by the node and the broker until reactivated."""
    RETIRED = "retired"
    """Refused for good; its data stays."""


class Connection(enum.StrEnum):
    UNKNOWN = "unknown"
    ONLINE = "online"
    OFFLINE = "offline"


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(63), unique=True)
    """Its MQTT username and topic segment; unique on the node."""
    factory_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("factories.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[DeviceKind] = mapped_column(str_enum(DeviceKind), default=DeviceKind.DEVICE)
    type: Mapped[str] = mapped_column(String(63))
    """e.g. injection_moulding, sewing_line, cnc: alert rules may target a type."""
    name: Mapped[str] = mapped_column(String(200))
    edge_node_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("devices.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[DeviceStatus] = mapped_column(
        str_enum(DeviceStatus), default=DeviceStatus.PROVISIONED
    )
    secret_hash: Mapped[str] = mapped_column(String(255))
    connection: Mapped[Connection] = mapped_column(str_enum(Connection), default=Connection.UNKNOWN)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeviceMetric(Base):
    """A metric a device reports, with its unit and the range a sane value lies in. Its integer
    id names the time series in the telemetry tables (narrow rows, fast indexes)."""

    __tablename__ = "device_metrics"
    __table_args__ = (UniqueConstraint("device_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("devices.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(63))
    unit: Mapped[str] = mapped_column(String(16))
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
