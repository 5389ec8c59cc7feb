"""What the node keeps of factory vision: inspection models per factory and SKU (the registry),
stations with their one active model, and the quality record of every part inspected.

Model weights live in files under the node's data directory (`vision/<factory>/...`); the rows
hold what people and the hub may see of them: metrics, parameters and lineage, never an image.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from regional_node.db import Base
from yunfab.db import UTCDateTime, new_id, utcnow


class InspectionModel(Base):
    """One trained version of a SKU's inspection model at one factory. Immutable once stored."""

    __tablename__ = "vision_models"
    __table_args__ = (UniqueConstraint("factory_id", "sku", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    factory_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("factories.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    """1, 2, 3... per factory and SKU, in the order they were made."""
    digest: Mapped[str] = mapped_column(String(64))
    """The model's own digest of what decides its verdicts: the same training gives the same."""
    kind: Mapped[str] = mapped_column(String(32))
    """`anomaly` (good images only) or `anomaly+supervised` (labelled defects too)."""
    file: Mapped[str] = mapped_column(String(300))
    """The weights file, relative to the node's vision directory."""
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Where it came from: the training data's digest and counts and the parameters, or a market
    release or federated run once those exist."""
    created_by: Mapped[str] = mapped_column(String(200))
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    """Set when no station may run it any more (its market release was revoked or removed)."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Station(Base):
    """An inspection point on a line: a camera, the machine whose parts it sees, and the one
    model it runs now. Switching the part made there is activating another SKU's model."""

    __tablename__ = "vision_stations"
    __table_args__ = (UniqueConstraint("factory_id", "slug"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    factory_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("factories.id"), index=True)
    slug: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(200))
    device_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("devices.id"))
    """The machine making the parts seen here: its telemetry explains their defects."""
    model_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("vision_models.id"))
    previous_model_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("vision_models.id")
    )
    """What a rollback goes back to."""
    work_order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("work_orders.id"))
    """The work order the camera's counts report progress on, when one is set."""
    counting: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """A counting line or zone (see `counting`), in the camera's pixels."""
    privacy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """How frames are masked before they are kept (see `privacy.PrivacyPolicy`)."""
    keep_images: Mapped[bool] = mapped_column(default=True)
    """Keep each inspected image (masked) on the node, for review by the factory and operator."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class QualityRecord(Base):
    """One part inspected: which station, model, SKU and batch, the verdict and where."""

    __tablename__ = "quality_records"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("vision_stations.id"), index=True
    )
    factory_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("factories.id"), index=True)
    model_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("vision_models.id"))
    device_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("devices.id"))
    sku: Mapped[str] = mapped_column(String(64), index=True)
    batch: Mapped[str | None] = mapped_column(String(64), index=True)
    part: Mapped[str | None] = mapped_column(String(64))
    """The part's own serial, when it has one."""
    score: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(16))
    defect_class: Mapped[str | None] = mapped_column(String(64))
    boxes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Hot regions in image pixels, and as fractions of the image (`fx, fy, fw, fh`)."""
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    elapsed_ms: Mapped[float] = mapped_column(Float)
    image_file: Mapped[str | None] = mapped_column(String(300))
    """The masked image, relative to the vision directory; never leaves the node."""
    actor: Mapped[str] = mapped_column(String(200))
    inspected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
