"""The columns every job row has, whichever app's table holds it.

Each app declares its own `Job(JobColumns, Base)` (its `jobs` table, in its own metadata and
migrations) with what only it has: how the job's `key` is unique (the node's per asker, the
hub's per kind) and what it is about (the node's factory)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from yunfab.db import UTCDateTime, new_id, utcnow


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobColumns:
    """One piece of long work: what, for whom, how far. A job may run twice (a worker presumed
    dead that was only slow, a redelivery after a crash): the row, locked, decides whose
    outcome counts (`yunfab.jobs.service.JobStore.succeed`)."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str | None] = mapped_column(String(128))
    """The name asking again returns this job by (the app's table says how it is unique; the
    hub's is never null)."""
    owner: Mapped[str] = mapped_column(String(256))
    """Who asked (the subject's label)."""
    action: Mapped[str] = mapped_column(String(64))
    """The action whoever reads the job must be allowed (the app's policy decides where)."""
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
