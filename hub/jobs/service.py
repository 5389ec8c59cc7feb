"""The hub's jobs: made by the request that asks (`create_job`), read by whoever may do the
job's action (`get_job`); claimed and finished through `STORE` (the shared
`yunfab.jobs.service.JobStore`) by whoever runs them (a task of the API process when embedded,
a `yunfab hub worker` on NATS)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.jobs.errors import JobNotFound
from hub.jobs.models import Job
from yunfab.authorization import Authorizer
from yunfab.jobs.service import JobStore
from yunfab.subject import Subject

STORE = JobStore(Job, keys_per_owner=False)


async def create_job(
    session: AsyncSession, subject: Subject, *, kind: str, key: str, action: str,
    payload: dict[str, Any],
) -> tuple[Job, bool]:  # fmt: skip
    """The job for (`kind`, `key`), and whether it is new (flushed, not committed)."""
    return await STORE.create(
        session, kind=kind, key=key, owner=subject.label, action=action, payload=payload
    )


async def get_job(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, job_id: uuid.UUID
) -> Job:
    """A job, to whoever may do the job's `action` (reading what it works on)."""
    job = await STORE.repository(session).job(job_id)
    if job is None:
        raise JobNotFound(f"no job {job_id} on this hub")
    await authorizer.check(subject, job.action, {"job": str(job.id), "kind": job.kind})
    return job
