"""Gateways at the node: the one-time claim codes a factory's gateway trades for its credentials,
and the status each gateway reports."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from regional_node.db import Base
from yunfab.db import UTCDateTime, new_id, utcnow


class GatewayClaimCode(Base):
    """A code given to a gateway once: `<lookup>-<secret>`. The lookup finds the row; only a
    SHA-256 of the secret is kept (it is 144 random bits, so no slow hash is needed), compared in
    constant time. Bound to a factory and an edge node key; used at most once, before it
    expires."""

    __tablename__ = "gateway_claim_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    lookup: Mapped[str] = mapped_column(String(16), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    factory_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("factories.id", ondelete="CASCADE"), index=True
    )
    edge_node_key: Mapped[str] = mapped_column(String(63))
    namespaced: Mapped[bool] = mapped_column(Boolean, default=True)
    """Made by someone who manages one factory's devices only: every key claimed with it must
    be in the factory's namespace (`<slug>-...`), as when they provision by hand."""
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    used_from: Mapped[str | None] = mapped_column(String(64))


class GatewayStatus(Base):
    """The newest status an edge node's gateway reported over HTTP: its link, journal,
    connectors and every point's last value and last error (the document is checked and
    bounded by the API before it is kept). Online and offline come from its births and deaths
    (the device's `connection`), not from here."""

    __tablename__ = "gateway_status"

    device_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    """The node's clock when the report came."""
    gateway_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    """The gateway's clock when it wrote the report."""
    document: Mapped[dict[str, Any]] = mapped_column(JSON)


class GatewayConfigVersion(Base):
    """A gateway configuration the node holds for an edge node, checked with the gateway's own
    parser before it was stored; the gateway fetches the newest and reports which it runs."""

    __tablename__ = "gateway_config_versions"
    __table_args__ = (UniqueConstraint("device_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    device_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("devices.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class GatewayProfile(Base):
    """A machine profile installed from the market (a `machine_profile` release), checked with
    the gateway's own profile parser; a gateway configuration names it like a built-in one."""

    __tablename__ = "gateway_profiles"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    """The listing's name: what a connector's `profile = ...` says."""
    version: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    installation_id: Mapped[str] = mapped_column(String(64), index=True)
    """The market installation that put it here; removing or revoking it removes the profile."""
    installed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
