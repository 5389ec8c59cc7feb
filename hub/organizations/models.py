from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base
from yunfab.db import UTCDateTime, new_id, str_enum, utcnow


class OrganizationKind(enum.StrEnum):
    HUB_OPERATOR = "hub_operator"
    NODE_OPERATOR = "node_operator"
    PUBLISHER = "publisher"
    FACTORY = "factory"
    CONSUMER = "consumer"


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[OrganizationKind] = mapped_column(str_enum(OrganizationKind, 32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
