"""Jobs: long work the hub does after the request that asked for it has returned."""

from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base
from yunfab.jobs.models import JobColumns, JobStatus

__all__ = ["Job", "JobStatus"]


class Job(JobColumns, Base):
    """A job of the hub: its handler makes a second run resume rather than redo (a federated
    run's driving follows the Flower run the first started)."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_jobs_kind_key"),)

    key: Mapped[str] = mapped_column(String(128))
    """What the job is about (a federated run's id): asking again for it returns this job."""
