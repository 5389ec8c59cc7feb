"""All SQL of the hub's jobs."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from hub.jobs.models import Job, JobStatus
from yunfab.repository import Repository


class JobRepository(Repository):
    async def job(
        self, job_id: uuid.UUID, *, for_update: bool = False, fresh: bool = False
    ) -> Job | None:
        """`fresh` reads the row again over what the session holds of it."""
        return await self.session.get(
            Job, job_id, with_for_update=for_update, populate_existing=fresh
        )

    async def by_key(self, kind: str, key: str) -> Job | None:
        return await self.first(select(Job).where(Job.kind == kind, Job.key == key))

    async def unfinished(self) -> list[tuple[uuid.UUID, str]]:
        """Jobs queued or running, oldest first."""
        rows = await self.session.execute(
            select(Job.id, Job.kind)
            .where(Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]))
            .order_by(Job.created_at)
        )
        return [(job_id, kind) for job_id, kind in rows]
