"""The data exchange's records: products in the catalog, their offers, contracts, and the rows
publishers sync to the hub."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base
from yunfab.db import UTCDateTime, new_id, str_enum, utcnow


class DataProduct(Base):
    """A dataset a node or a platform shares through the hub: what it holds (the field schema),
    who publishes it, and how far its rows have been synced."""

    __tablename__ = "data_products"
    __table_args__ = (UniqueConstraint("publisher_org", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    publisher_org: Mapped[str] = mapped_column(String(64), index=True)
    node: Mapped[str | None] = mapped_column(String(63))
    """The regional node that publishes it, when a node does."""
    key: Mapped[str] = mapped_column(String(63))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    region: Mapped[str] = mapped_column(String(16), index=True)
    industry: Mapped[str] = mapped_column(String(63), index=True)
    update_frequency: Mapped[str] = mapped_column(String(16))
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    sample: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    live: Mapped[bool] = mapped_column(Boolean, default=False)
    """The publishing node answers live queries for fresh rows."""
    sync_seq: Mapped[int] = mapped_column(Integer, default=0)
    """The last batch applied; batches apply strictly in order."""
    live_snapshot: Mapped[int | None] = mapped_column(Integer)
    """The snapshot readers see; a newer one being staged stays invisible until complete."""
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    data_updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OfferStatus(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class Offer(Base):
    """A usage policy a product is offered under. Immutable: a changed policy is a new offer."""

    __tablename__ = "data_offers"
    __table_args__ = (UniqueConstraint("product_id", "policy_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    product_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("data_products.id", ondelete="CASCADE"), index=True
    )
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    policy_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[OfferStatus] = mapped_column(
        str_enum(OfferStatus, 16), default=OfferStatus.ACTIVE
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ContractState(enum.StrEnum):
    REQUESTED = "requested"
    OFFERED = "offered"
    AGREED = "agreed"
    FINALIZED = "finalized"
    TERMINATED = "terminated"


class Contract(Base):
    """One negotiation between a consumer and a product's provider, and once finalized, the
    agreement: its terms and their hash, which every governed query is checked against."""

    __tablename__ = "data_contracts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    offer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("data_offers.id"), index=True)
    product_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("data_products.id", ondelete="CASCADE"), index=True
    )
    consumer_org: Mapped[str] = mapped_column(String(64), index=True)
    provider_org: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[ContractState] = mapped_column(str_enum(ContractState, 16))
    purpose: Mapped[str] = mapped_column(String(40))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    """What the consumer asked for: purpose, fields, regions."""
    terms: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The terms offered, then agreed: the offer's policy narrowed to the request."""
    terms_hash: Mapped[str | None] = mapped_column(String(64))
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Each transition: state, when, by whom (or "policy"), why."""
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finalized_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    terminated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    termination_reason: Mapped[str | None] = mapped_column(Text)


class DataRow(Base):
    """One row of a product as of a snapshot. A snapshot being staged has its own rows; the
    previous snapshot's go once it is complete."""

    __tablename__ = "data_rows"
    __table_args__ = (Index("ix_data_rows_region", "product_id", "snapshot", "region"),)

    product_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("data_products.id", ondelete="CASCADE"), primary_key=True
    )
    snapshot: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    region: Mapped[str | None] = mapped_column(String(16))
    contributor: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    seq: Mapped[int] = mapped_column(Integer)
    """The batch that last wrote it."""


class DisclosedCell(Base):
    """One aggregate figure an organization was given of a product under an aggregation-only
    agreement, as the rows behind it and each row's contributor. Later answers to the same
    organization, under this agreement or any other on the product, are checked against these
    so that no combination of answers singles out fewer than k contributors (differencing)."""

    __tablename__ = "data_disclosed_cells"
    __table_args__ = (
        UniqueConstraint("consumer_org", "product_id", "digest"),
        Index("ix_data_disclosed_cells_reader", "consumer_org", "product_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consumer_org: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("data_products.id", ondelete="CASCADE")
    )
    contract_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("data_contracts.id", ondelete="SET NULL")
    )
    """The agreement it was first given under."""
    digest: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the cell's row identities: the same cell is stored once."""
    size: Mapped[int] = mapped_column(Integer)
    """Rows behind it."""
    members: Mapped[dict[str, str]] = mapped_column(JSON)
    """Row identity -> contributor."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
