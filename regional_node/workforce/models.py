"""Shared workers on a node: workers lent by their employers (a factory or labour service) as
pseudonymous profiles, their names and contacts kept apart with the employer, factories' needs,
matching runs and the proposals they make, attendance and ratings."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from regional_node.db import Base
from yunfab.db import UTCDateTime, new_id, str_enum, utcnow


class WorkforceWorker(Base):
    """A worker's pseudonymous profile: what a need's factory may see."""

    __tablename__ = "workforce_workers"
    __table_args__ = (UniqueConstraint("employer_org", "pseudonym"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    employer_org: Mapped[str] = mapped_column(String(64), index=True)
    """The lending factory or labour service (its organization at the hub)."""
    pseudonym: Mapped[str] = mapped_column(String(40))
    skills: Mapped[dict[str, int]] = mapped_column(JSON)
    certificates: Mapped[list[str]] = mapped_column(JSON, default=list)
    safety_trained: Mapped[bool] = mapped_column(Boolean, default=False)
    available_from: Mapped[dt.date] = mapped_column(Date)
    available_to: Mapped[dt.date] = mapped_column(Date, index=True)
    shifts: Mapped[list[str]] = mapped_column(JSON)
    home_area: Mapped[str] = mapped_column(String(100))
    """A town or district, not an address."""
    home_lat: Mapped[float] = mapped_column(Float)
    """Rounded to 0.01 degree (about a kilometre): enough for travel, no more."""
    home_lon: Mapped[float] = mapped_column(Float)
    radius_km: Mapped[float] = mapped_column(Float)
    wage_floor: Mapped[float] = mapped_column(Float)
    team: Mapped[str | None] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkforceContact(Base):
    """Who the worker is: read by the employer's staff, and by a borrowing factory only once
    both the employer and the worker accepted a proposal (each such read audited)."""

    __tablename__ = "workforce_contacts"

    worker_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workforce_workers.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))


class NeedStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class WorkforceNeed(Base):
    __tablename__ = "workforce_needs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    factory_org: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200))
    site_area: Mapped[str] = mapped_column(String(100))
    site_lat: Mapped[float] = mapped_column(Float)
    site_lon: Mapped[float] = mapped_column(Float)
    skill: Mapped[str] = mapped_column(String(60))
    min_level: Mapped[int] = mapped_column(Integer)
    certificates: Mapped[list[str]] = mapped_column(JSON, default=list)
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    headcount: Mapped[dict[str, int]] = mapped_column(JSON)
    """Shift -> workers wanted each day."""
    wage: Mapped[float] = mapped_column(Float)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    safety_training: Mapped[bool] = mapped_column(Boolean, default=False)
    keep_team: Mapped[bool] = mapped_column(Boolean, default=False)
    housing: Mapped[bool] = mapped_column(Boolean, default=False)
    transport: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[NeedStatus] = mapped_column(str_enum(NeedStatus, 16), default=NeedStatus.OPEN)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkforceMatchRun(Base):
    __tablename__ = "workforce_match_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    method: Mapped[str] = mapped_column(String(20))
    optimal: Mapped[bool] = mapped_column(Boolean)
    workers: Mapped[int] = mapped_column(Integer)
    needs: Mapped[int] = mapped_column(Integer)
    demanded: Mapped[int] = mapped_column(Integer)
    covered: Mapped[int] = mapped_column(Integer)
    weighted_coverage: Mapped[float] = mapped_column(Float)
    kept: Mapped[int] = mapped_column(Integer)
    """Worker-days of accepted proposals, kept as they were."""
    shortfalls: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Up to 500 need-days short of hands, each with its reason."""
    elapsed_s: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProposalStatus(enum.StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    """Both the employer and the worker accepted."""
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    """Replaced by a later match before anyone accepted it."""


class WorkforceProposal(Base):
    """A worker lent to a need for some days: proposed by a match, accepted by both sides."""

    __tablename__ = "workforce_proposals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("workforce_match_runs.id"), index=True
    )
    """The match that proposed it; none for a request from another node through the hub
    (`WorkforceRelayInbound`)."""
    worker_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workforce_workers.id", ondelete="CASCADE"), index=True
    )
    need_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workforce_needs.id", ondelete="CASCADE"), index=True
    )
    employer_org: Mapped[str] = mapped_column(String(64), index=True)
    factory_org: Mapped[str] = mapped_column(String(64), index=True)
    pseudonym: Mapped[str] = mapped_column(String(40))
    """The worker's pseudonym when proposed: what the borrower sees before consent."""
    days: Mapped[list[list[str]]] = mapped_column(JSON)
    """[[ISO day, shift], ...] in order."""
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Why this worker: skill and level, distance, wage against the floor."""
    status: Mapped[ProposalStatus] = mapped_column(
        str_enum(ProposalStatus, 16), default=ProposalStatus.PROPOSED, index=True
    )
    employer_accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    employer_accepted_by: Mapped[str | None] = mapped_column(String(200))
    worker_accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    worker_accepted_via: Mapped[str | None] = mapped_column(String(200))
    """"link" (the worker's one-time consent link) or the staff member who recorded it."""
    consent_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    consent_token_expires: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkforceAttendance(Base):
    __tablename__ = "workforce_attendance"
    __table_args__ = (UniqueConstraint("proposal_id", "day"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    proposal_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workforce_proposals.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[dt.date] = mapped_column(Date)
    present: Mapped[bool] = mapped_column(Boolean)
    hours: Mapped[float] = mapped_column(Float)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RatingSide(enum.StrEnum):
    FACTORY_RATES_WORKER = "factory_rates_worker"
    WORKER_RATES_FACTORY = "worker_rates_factory"


class WorkforceRating(Base):
    __tablename__ = "workforce_ratings"
    __table_args__ = (UniqueConstraint("proposal_id", "side"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    proposal_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workforce_proposals.id", ondelete="CASCADE"), index=True
    )
    side: Mapped[RatingSide] = mapped_column(str_enum(RatingSide, 24))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(500), default="")
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RelayStatus(enum.StrEnum):
    """Where a request from one node to another stands (both nodes and the hub use these)."""

    PENDING = "pending"
    """Made on the borrowing node, not yet taken by the hub."""
    REQUESTED = "requested"
    """At the hub, waiting for the lending node to take it."""
    PROPOSED = "proposed"
    """A proposal on the lending node: the employer and the worker answer."""
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REFUSED = "refused"
    """The lending node could not make a proposal of it (the offer is gone, the days or the
    wage do not fit): `reason` says which."""


class WorkforceRelayInbound(Base):
    """On the lending node: a request for one of its workers from a factory on another node,
    relayed by the hub, and the proposal it became. The borrower's public key is the one the
    worker's contact is sealed to once both sides accept."""

    __tablename__ = "workforce_relay_inbound"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    """The request's id at the hub (made by the borrowing node)."""
    proposal_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("workforce_proposals.id", ondelete="SET NULL"), index=True
    )
    borrower_node: Mapped[str] = mapped_column(String(63))
    borrower_org: Mapped[str] = mapped_column(String(64))
    offer: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(String(64))
    refused: Mapped[str | None] = mapped_column(String(300))
    """Why no proposal was made."""
    reported: Mapped[RelayStatus | None] = mapped_column(str_enum(RelayStatus, 16))
    """The status the hub last took from this node."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkforceRemoteRequest(Base):
    """On the borrowing node: a factory's request, for one of its needs, for a worker another
    node offers at the hub (`workforce-offers`). The private key opens the worker's contact
    when it comes back sealed; it is dropped once it has."""

    __tablename__ = "workforce_remote_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    need_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workforce_needs.id", ondelete="CASCADE"), index=True
    )
    factory_org: Mapped[str] = mapped_column(String(64), index=True)
    lender_node: Mapped[str] = mapped_column(String(63))
    offer: Mapped[str] = mapped_column(String(64))
    """The worker's pseudonym in the hub's `workforce-offers` (not the lending node's own)."""
    shift: Mapped[str] = mapped_column(String(16))
    status: Mapped[RelayStatus] = mapped_column(
        str_enum(RelayStatus, 16), default=RelayStatus.PENDING, index=True
    )
    reason: Mapped[str | None] = mapped_column(String(300))
    private_key: Mapped[str | None] = mapped_column(String(64))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
