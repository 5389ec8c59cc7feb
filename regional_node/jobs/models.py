"""Jobs: long work the node does after the request that asked for it has returned."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from regional_node.db import Base
from yunfab.db import UTCDateTime, new_id, utcnow


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Job(Base):
    """One piece of long work: what, for whom, how far. The row decides whose result counts
    when a job ran twice (a worker presumed dead that was only slow): the first to mark it
    succeeded, under a row lock; the other's result is rolled back."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("owner", "kind", "key", name="uq_jobs_owner_kind_key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str | None] = mapped_column(String(128))
    """The caller's own name for the job: asking again with it returns the same job."""
    owner: Mapped[str] = mapped_column(String(256))
    """Who asked (the subject's label); they, and who may do `action` at the factory, see it."""
    factory_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("factories.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    """The action whoever reads the job must be allowed at its factory."""
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(128))
    """The process running (or that last ran) it."""
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def done(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)
