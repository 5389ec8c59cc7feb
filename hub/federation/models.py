from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import ForeignKey, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base
from yunfab.db import UTCDateTime, new_id, str_enum, utcnow


class NodeStatus(enum.StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class RegionalNode(Base):
    __tablename__ = "regional_nodes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    region: Mapped[str] = mapped_column(String(16), index=True)
    industry: Mapped[str] = mapped_column(String(63), index=True)
    base_url: Mapped[str | None] = mapped_column(String(2048), unique=True)
    """Where the hub reaches the node: set when it enrols (its first registration), changed only
    by a hub operator, one node per URL. None when a migration found it shared with another node
    (the node's next registration enrols it again)."""
    status: Mapped[NodeStatus] = mapped_column(
        str_enum(NodeStatus, 16),
        default=NodeStatus.ONLINE,
    )
    last_heartbeat: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    operator_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    """The node operator organization; set once nodes authenticate with their own client (#3)."""
    flower_public_key: Mapped[str | None] = mapped_column(Text)
    """The public key (OpenSSH, elliptic curve) of the node's Flower SuperNode: only nodes with
    a key here are registered at the hub's SuperLink (`yunfab hub fl register-nodes`)."""
    yunfab_version: Mapped[str | None] = mapped_column(String(64))
    """The Yunfab version the node last registered with; market releases are checked against it
    (none reported: only releases that set no version range are compatible)."""
