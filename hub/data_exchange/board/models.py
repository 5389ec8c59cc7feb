from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import Date, Float, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Base
from hub.organizations.models import Organization
from yunfab.db import UTCDateTime, new_id, str_enum, utcnow


class Side(enum.StrEnum):
    NEED = "need"
    OFFER = "offer"

    @property
    def other(self) -> Side:
        return Side.OFFER if self is Side.NEED else Side.NEED


class Resource(enum.StrEnum):
    MATERIAL = "material"
    CAPACITY = "capacity"


class PostingStatus(enum.StrEnum):
    OPEN = "open"
    WITHDRAWN = "withdrawn"
    FILLED = "filled"


class BoardPosting(Base):
    """A need or an offer of a material or of production capacity, posted by an organization
    for a window of dates at a place. Only OPEN postings are matched."""

    __tablename__ = "board_postings"
    __table_args__ = (
        Index("ix_board_postings_match", "resource", "item", "unit", "side", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id"), index=True
    )
    side: Mapped[Side] = mapped_column(str_enum(Side, 8))
    resource: Mapped[Resource] = mapped_column(str_enum(Resource, 16))
    item: Mapped[str] = mapped_column(String(63))
    """A process for capacity (`weaving`), a material code for materials (`meltblown-fabric`)."""
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    available_from: Mapped[dt.date] = mapped_column(Date)
    available_to: Mapped[dt.date] = mapped_column(Date)
    """Inclusive. For a need: when it is needed."""
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    region: Mapped[str] = mapped_column(String(16), index=True)
    city: Mapped[str] = mapped_column(String(100))
    max_distance_km: Mapped[float | None] = mapped_column(Float)
    """How far the poster will ship or travel; none: no limit of its own."""
    note: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[PostingStatus] = mapped_column(
        str_enum(PostingStatus, 16), default=PostingStatus.OPEN
    )
    posted_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship(lazy="raise")
    """The poster: its name is published with the posting, so counterparts know whom to call."""
