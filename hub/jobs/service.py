"""Jobs' rows: made by the request that asks, claimed and finished by whoever runs them (a
task of the API process when embedded, a `yunfab hub worker` on NATS)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.jobs.errors import JobNotFound
from hub.jobs.models import Job, JobStatus
from hub.jobs.repository import JobRepository
from yunfab.authorization import Authorizer
from yunfab.db import utcnow
from yunfab.subject import Subject

MAX_ERROR = 2000


async def create_job(
    session: AsyncSession, subject: Subject, *, kind: str, key: str, action: str,
    payload: dict[str, Any],
) -> tuple[Job, bool]:  # fmt: skip
    """The job for (`kind`, `key`), and whether it is new (flushed, not committed)."""
    repository = JobRepository(session)
    existing = await repository.by_key(kind, key)
    if existing is not None:
        return existing, False
    job = Job(
        kind=kind,
        key=key,
        owner=subject.label,
        action=action,
        status=JobStatus.QUEUED.value,
        attempts=0,
        payload=payload,
    )
    repository.add(job)
    await repository.flush()
    return job, True


async def get_job(
    session: AsyncSession, subject: Subject, *, authorizer: Authorizer, job_id: uuid.UUID
) -> Job:
    """A job, to whoever may do the job's `action` (reading what it works on)."""
    job = await JobRepository(session).job(job_id)
    if job is None:
        raise JobNotFound(f"no job {job_id} on this hub")
    await authorizer.check(subject, job.action, {"job": str(job.id), "kind": job.kind})
    return job


async def claim(session: AsyncSession, job_id: uuid.UUID, *, worker: str) -> Job | None:
    """Mark the job running here (committed), or None when it is done or gone."""
    job = await JobRepository(session).job(job_id, for_update=True)
    if job is None or job.done:
        await session.rollback()
        return None
    job.status = JobStatus.RUNNING.value
    job.attempts += 1
    job.worker = worker
    job.started_at = utcnow()
    await session.commit()
    return job


async def succeed(session: AsyncSession, job_id: uuid.UUID, result: dict[str, Any]) -> bool:
    """Keep this run's result (committed), unless another run of the job already ended it."""
    job = await JobRepository(session).job(job_id, for_update=True, fresh=True)
    if job is None or job.done:
        await session.rollback()
        return False
    job.status = JobStatus.SUCCEEDED.value
    job.result = result
    job.error = None
    job.finished_at = utcnow()
    await session.commit()
    return True


async def fail(session: AsyncSession, job_id: uuid.UUID, error: str, *, final: bool) -> None:
    """Record why this run failed; `final` ends the job (else it waits for another try)."""
    await session.rollback()
    job = await JobRepository(session).job(job_id, for_update=True, fresh=True)
    if job is None or job.done:
        await session.rollback()
        return
    job.error = error[:MAX_ERROR]
    job.status = (JobStatus.FAILED if final else JobStatus.QUEUED).value
    if final:
        job.finished_at = utcnow()
    await session.commit()


async def unfinished(session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    """Jobs queued or running: an embedded hub queues them again when it starts."""
    return await JobRepository(session).unfinished()
