from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from regional_node.db import Base
from yunfab.db import UTCDateTime, new_id, str_enum, utcnow


class FactoryStatus(enum.StrEnum):
    INVITED = "invited"
    """The node operator asked the factory to join; it fills in its profile."""
    SUBMITTED = "submitted"
    """Profile complete and sent for review."""
    VERIFIED = "verified"
    """The operator checked the profile (on site or from documents)."""
    ACTIVE = "active"
    """Takes work, its devices send telemetry."""
    REJECTED = "rejected"
    """Review failed, with a reason; the factory may fix its profile and submit again."""
    SUSPENDED = "suspended"
    """Taken out of service for a reason; its devices are refused until it is reactivated."""


class Factory(Base):
    """A factory that joined this node, and the profile cloud-factory allocation relies on."""

    __tablename__ = "factories"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    """Short name used in device topics (the Sparkplug group id)."""
    name: Mapped[str] = mapped_column(String(200), unique=True)
    """Legal name."""
    status: Mapped[FactoryStatus] = mapped_column(
        str_enum(FactoryStatus), default=FactoryStatus.INVITED, index=True
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
    """Why it was rejected or suspended."""
    organization_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """The factory's organization at the hub: its people's tokens carry this `org`."""
    location: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    contact: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    certifications: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    products: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Equipment(Base):
    """A kind of machine a factory has, and how many: what allocation matches processes on."""

    __tablename__ = "factory_equipment"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    factory_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("factories.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(63))
    """e.g. injection-moulding-machine, cnc-mill, lockstitch-sewing-machine."""
    model: Mapped[str] = mapped_column(String(120))
    count: Mapped[int] = mapped_column(Integer)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Key parameters, e.g. {"clamp_force_kn": 2500, "shot_weight_g": 450}."""


class CapacityDay(Base):
    """What a factory can give one process on one day."""

    __tablename__ = "factory_capacity"

    factory_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("factories.id", ondelete="CASCADE"), primary_key=True
    )
    process: Mapped[str] = mapped_column(String(63), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    available_hours: Mapped[float | None] = mapped_column(Float)
    available_units: Mapped[int | None] = mapped_column(Integer)
    downtime_hours: Mapped[float] = mapped_column(Float, default=0.0)
    hourly_rate: Mapped[float | None] = mapped_column(Float)
    """What the factory charges for an hour of this process that day (allocation's cost); when
    missing, the routing's standard cost is assumed."""
    note: Mapped[str | None] = mapped_column(Text)
