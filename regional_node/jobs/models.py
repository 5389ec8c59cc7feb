"""Jobs: long work the node does after the request that asked for it has returned."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from regional_node.db import Base
from yunfab.jobs.models import JobColumns, JobStatus

__all__ = ["Job", "JobStatus"]


class Job(JobColumns, Base):
    """A job of the node: about one factory, whose people (those who may do its `action`
    there) see it as well as who asked; a key names a job among its asker's."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("owner", "kind", "key", name="uq_jobs_owner_kind_key"),)

    factory_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("factories.id", ondelete="CASCADE"), index=True
    )
