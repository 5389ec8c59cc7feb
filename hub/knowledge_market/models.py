"""The market's records: publishers and their keys, listings, immutable releases and their
countersignatures, entitlements, installations on nodes, reviews and usage."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base
from yunfab.db import UTCDateTime, new_id, str_enum, utcnow


class MarketPublisher(Base):
    """An organization the hub's reviewers verified as a publisher: only these upload releases."""

    __tablename__ = "market_publishers"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    verified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_by: Mapped[str] = mapped_column(String(200))


class KeyKind(enum.StrEnum):
    PUBLISHER = "publisher"
    REVIEWER = "reviewer"


class KeyStatus(enum.StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class MarketKey(Base):
    """An Ed25519 public key an organization signs releases (publisher) or countersigns them
    (reviewer) with. Retired keys stay listed so what they signed before still verifies."""

    __tablename__ = "market_keys"
    __table_args__ = (UniqueConstraint("kind", "key_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[KeyKind] = mapped_column(str_enum(KeyKind, 16))
    key_id: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(String(64))
    """Raw 32 bytes, base64."""
    status: Mapped[KeyStatus] = mapped_column(str_enum(KeyStatus, 16), default=KeyStatus.ACTIVE)
    registered_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Listing(Base):
    """What the market shows: one name (the manifests' `name`), one publisher, many releases.
    The facets of its latest visible release are copied here so search filters in SQL."""

    __tablename__ = "market_listings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    publisher_org: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id"), index=True
    )
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(280))
    industry: Mapped[str] = mapped_column(String(64), index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    search_text: Mapped[str] = mapped_column(Text, default="")
    """Title, summary, tags and name: what full-text search reads."""
    latest_release_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    """The highest version neither yanked nor revoked; none: the listing is not shown."""
    latest_version: Mapped[str | None] = mapped_column(String(64))
    license: Mapped[str | None] = mapped_column(String(64), index=True)
    yunfab_range: Mapped[str | None] = mapped_column(String(200))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    """Its latest visible release carries a reviewer's countersignature."""
    free: Mapped[bool] = mapped_column(Boolean, default=False)
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    rating_sum: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReleaseStatus(enum.StrEnum):
    PUBLISHED = "published"
    YANKED = "yanked"
    REVOKED = "revoked"


class Release(Base):
    """One version of a listing: manifest, artifact digest and the publisher's signature over
    both. Immutable but for its status (yank, revoke) and the countersignatures it gathers."""

    __tablename__ = "market_releases"
    __table_args__ = (UniqueConstraint("listing_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    listing_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("market_listings.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[str] = mapped_column(String(64))
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The normalised manifest (`Manifest.model_dump(mode="json")`): what was signed."""
    artifact_sha256: Mapped[str] = mapped_column(String(64), index=True)
    artifact_size: Mapped[int] = mapped_column(Integer)
    signature: Mapped[str] = mapped_column(String(128))
    key_id: Mapped[str] = mapped_column(String(16))
    status: Mapped[ReleaseStatus] = mapped_column(
        str_enum(ReleaseStatus, 16), default=ReleaseStatus.PUBLISHED
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    published_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReleaseReview(Base):
    """A reviewer's countersignature over a release's review payload."""

    __tablename__ = "market_release_reviews"
    __table_args__ = (UniqueConstraint("release_id", "key_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    release_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("market_releases.id", ondelete="CASCADE"), index=True
    )
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))
    reviewer: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class EntitlementKind(enum.StrEnum):
    FREE = "free"
    PER_NODE = "per_node"
    SUBSCRIPTION = "subscription"
    USAGE = "usage"


class Entitlement(Base):
    """A right to install a listing's releases: for anyone (free), one node, or one organization
    (until it expires, or up to a usage limit)."""

    __tablename__ = "market_entitlements"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    listing_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("market_listings.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EntitlementKind] = mapped_column(str_enum(EntitlementKind, 16))
    node: Mapped[str | None] = mapped_column(String(63))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    unit: Mapped[str | None] = mapped_column(String(64))
    limit: Mapped[int | None] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, default=0)
    granted_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class InstallationState(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    INSTALLED = "installed"
    FAILED = "failed"
    REMOVING = "removing"
    """Removal asked for; the node deactivates it and reports `removed`."""
    REMOVED = "removed"
    DISABLED = "disabled"
    """The node disabled it because its release was revoked."""


class Installation(Base):
    """One release on one node, and where it stands. History records every transition."""

    __tablename__ = "market_installations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    release_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("market_releases.id"), index=True
    )
    listing_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("market_listings.id", ondelete="CASCADE"), index=True
    )
    node: Mapped[str] = mapped_column(String(63), index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id"), index=True
    )
    """The node's operator organization: whose entitlement it uses and who may review."""
    entitlement_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("market_entitlements.id", ondelete="SET NULL")
    )
    state: Mapped[InstallationState] = mapped_column(str_enum(InstallationState, 16))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str | None] = mapped_column(Text)
    """The node's last word (why it failed, what it disabled)."""
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ListingReview(Base):
    """An organization's rating of a listing it installed; one per organization, updatable."""

    __tablename__ = "market_listing_reviews"
    __table_args__ = (UniqueConstraint("listing_id", "organization_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    listing_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("market_listings.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE")
    )
    rating: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsageEvent(Base):
    """Units a node used under an installation; the idempotency key makes a resend harmless."""

    __tablename__ = "market_usage_events"
    __table_args__ = (UniqueConstraint("installation_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    installation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("market_installations.id", ondelete="CASCADE"), index=True
    )
    entitlement_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("market_entitlements.id", ondelete="SET NULL")
    )
    unit: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
