"""A request for a worker from one node to another, as the hub relays it: the offer's
pseudonym, the borrower's organization and its need's terms. Nothing personal: the worker's
name and contact travel only sealed to the borrowing node's key, and only until it takes them."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import Date, Float, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base
from yunfab.db import UTCDateTime, str_enum, utcnow


class RelayStatus(enum.StrEnum):
    REQUESTED = "requested"
    """Waiting for the lending node to take it."""
    PROPOSED = "proposed"
    """A proposal on the lending node: its employer and the worker answer."""
    ACCEPTED = "accepted"
    """Both accepted; the contact waits sealed until the borrowing node takes it."""
    DECLINED = "declined"
    REFUSED = "refused"
    """The lending node made no proposal of it (`reason` says why)."""


class WorkforceRelayRequest(Base):
    __tablename__ = "workforce_relay_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    """Made by the borrowing node, so that a request sent twice is one request."""
    borrower_node: Mapped[str] = mapped_column(String(63), index=True)
    lender_node: Mapped[str] = mapped_column(String(63), index=True)
    borrower_org: Mapped[str] = mapped_column(String(64), index=True)
    offer: Mapped[str] = mapped_column(String(64))
    """The worker's pseudonym in the lending node's `workforce-offers`."""
    skill: Mapped[str] = mapped_column(String(60))
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    shift: Mapped[str] = mapped_column(String(16))
    wage: Mapped[float] = mapped_column(Float)
    site_area: Mapped[str] = mapped_column(String(100))
    site_lat: Mapped[float] = mapped_column(Float)
    """The factory's site, rounded to 0.01 degree: enough for the distance."""
    site_lon: Mapped[float] = mapped_column(Float)
    public_key: Mapped[str] = mapped_column(String(64))
    """The borrowing node's X25519 key for this request (base64): the contact is sealed to it."""
    status: Mapped[RelayStatus] = mapped_column(
        str_enum(RelayStatus, 16), default=RelayStatus.REQUESTED, index=True
    )
    reason: Mapped[str | None] = mapped_column(String(300))
    sealed_contact: Mapped[str | None] = mapped_column(Text)
    """Opaque to the hub; dropped as soon as the borrowing node has taken it."""
    delivered: Mapped[RelayStatus | None] = mapped_column(str_enum(RelayStatus, 16))
    """The status the borrowing node last took."""
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
