from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base
from yunfab.db import UTCDateTime, new_id, str_enum, utcnow


class RunStatus(enum.StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class FederatedRun(Base):
    """One Flower run over the registered nodes: what was asked, how it went round by round,
    and the global model it made."""

    __tablename__ = "federated_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    label: Mapped[str] = mapped_column(String(100))
    strategy: Mapped[str] = mapped_column(String(16))
    rounds: Mapped[int] = mapped_column(Integer)
    min_nodes: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The whole run config sent to the ServerApp (learning rate, epochs, privacy...)."""
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus, 16), default=RunStatus.STARTING)
    flower_run_id: Mapped[str | None] = mapped_column(String(32))
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The ServerApp's record: per round, per node, the allow-listed metrics."""
    error: Mapped[str | None] = mapped_column(Text)
    model_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("global_models.id"))
    started_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("jobs.id", ondelete="SET NULL")
    )
    """The job driving the run (`job(id)`); None for a run the console drives itself."""


class GlobalModel(Base):
    """A model in the hub's registry, with where it came from. Immutable once stored."""

    __tablename__ = "global_models"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(64))
    file: Mapped[str] = mapped_column(String(300))
    """Relative to the hub's model directory."""
    digest: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the file."""
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The run, its strategy, rounds, nodes and privacy settings."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
