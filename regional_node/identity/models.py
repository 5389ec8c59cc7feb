from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from regional_node.db import Base
from yunfab.db import UTCDateTime, new_id, utcnow


class NodeIdentity(Base):
    """The node's own identity: one row, written on first start, checked on every start after."""

    __tablename__ = "node_identity"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    region: Mapped[str] = mapped_column(String(16))
    industry: Mapped[str] = mapped_column(String(63))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    hub_registered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    """When the hub first accepted this node's registration."""
