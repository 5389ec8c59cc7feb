"""All SQL of jobs' rows, for whichever app's `Job` model it is given."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from yunfab.jobs.models import JobColumns, JobStatus
from yunfab.repository import Repository

J = TypeVar("J", bound=JobColumns)

UNFINISHED = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


class JobRepository(Repository, Generic[J]):
    def __init__(self, session: AsyncSession, model: type[J]) -> None:
        super().__init__(session)
        self.model = model

    async def job(
        self, job_id: uuid.UUID, *, for_update: bool = False, fresh: bool = False
    ) -> J | None:
        """`fresh` reads the row again over what the session holds of it."""
        return await self.session.get(
            self.model, job_id, with_for_update=for_update, populate_existing=fresh
        )

    async def by_key(self, kind: str, key: str, *, owner: str | None = None) -> J | None:
        """The job of `kind` named `key` (by `owner`, where keys are each asker's own)."""
        query = select(self.model).where(self.model.kind == kind, self.model.key == key)
        if owner is not None:
            query = query.where(self.model.owner == owner)
        return await self.first(query)

    async def unfinished(self, *, before: dt.datetime | None = None) -> list[tuple[uuid.UUID, str]]:
        """Jobs queued or running (created before `before`, if given), oldest first."""
        query = select(self.model.id, self.model.kind).where(self.model.status.in_(UNFINISHED))
        if before is not None:
            query = query.where(self.model.created_at < before)
        rows = await self.session.execute(query.order_by(self.model.created_at))
        return [(job_id, kind) for job_id, kind in rows]
