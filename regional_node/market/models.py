"""What the node keeps of the market: the trust roots it last fetched from the hub (so releases
are verified offline against them), and one record per installation the hub asked for.

An installation's record says what it activated here (a routing version, an inspection model
version), so that a revocation or a removal disables exactly that and nothing the operator made.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from regional_node.db import Base
from yunfab.db import UTCDateTime, str_enum, utcnow


class TrustRole(enum.StrEnum):
    PUBLISHER = "publisher"
    REVIEWER = "reviewer"


class TrustKey(Base):
    """A signing key the hub vouches for, as of `fetched_at` (the whole set is replaced at once)."""

    __tablename__ = "market_trust_keys"

    role: Mapped[TrustRole] = mapped_column(str_enum(TrustRole, 16), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str | None] = mapped_column(String(64))
    """A publisher key's organization at the hub; None for reviewers."""
    public_key: Mapped[str] = mapped_column(String(100))
    """The raw 32-byte Ed25519 key, base64."""
    status: Mapped[str] = mapped_column(String(16))
    """active, or retired (rotated out: still verifies what it signed before)."""
    fetched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class InstallState(enum.StrEnum):
    INSTALLED = "installed"
    FAILED = "failed"
    DISABLED = "disabled"
    """The release was revoked: what it activated is switched off."""
    REMOVED = "removed"


class Installation(Base):
    """One hub installation of a release on this node, and what it did here."""

    __tablename__ = "market_installations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The installation's id at the hub."""
    release_id: Mapped[str] = mapped_column(String(64), index=True)
    listing: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(64))
    """The artifact's SHA-256, as the release names it."""
    state: Mapped[InstallState] = mapped_column(str_enum(InstallState, 16))
    error: Mapped[str | None] = mapped_column(String(64))
    """The stable code a failed installation was refused with."""
    detail: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    artifact_file: Mapped[str | None] = mapped_column(String(300))
    """The verified artifact, relative to the node's market directory."""
    routing_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("routings.id"))
    """A scheduling template's routing version, when this installation created it."""
    model_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("vision_models.id"))
    """A defect model's inspection model version."""
    reported: Mapped[str | None] = mapped_column(String(16))
    """The state the hub last acknowledged; behind `state` until a report gets through."""
    usage_reported: Mapped[int] = mapped_column(Integer, default=0)
    """Inspections with the model that the hub has counted."""
    usage_pending: Mapped[int] = mapped_column(Integer, default=0)
    """Inspections counted up to in the usage event being sent (resent with the same key)."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
