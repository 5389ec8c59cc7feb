"""Jobs' rows: created by the request that asks, claimed and finished by whoever runs them
(the API process when embedded, a `yunfab node worker` when scaled out)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.factories.models import Factory
from regional_node.factories.service import check_at_factory
from regional_node.jobs.errors import JobNotFound
from regional_node.jobs.models import Job, JobStatus
from yunfab.db import utcnow
from yunfab.subject import Subject

if TYPE_CHECKING:
    from regional_node.runtime import NodeRuntime

MAX_ERROR = 2000


async def create_job(
    session: AsyncSession, subject: Subject, *, kind: str, key: str | None,
    factory_id: uuid.UUID, action: str, payload: dict[str, Any],
) -> tuple[Job, bool]:  # fmt: skip
    """The job, and whether it is new: a key the subject gave before returns its job."""
    if key is not None:
        existing = await session.scalar(
            select(Job).where(Job.owner == subject.label, Job.kind == kind, Job.key == key)
        )
        if existing is not None:
            return existing, False
    job = Job(
        kind=kind,
        key=key,
        owner=subject.label,
        factory_id=factory_id,
        action=action,
        status=JobStatus.QUEUED.value,
        payload=payload,
    )
    session.add(job)
    await session.flush()
    return job, True


async def get_job(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, job_id: uuid.UUID
) -> Job:
    """A job, to who asked for it or may do its action at its factory."""
    job = await session.get(Job, job_id)
    missing = JobNotFound(f"no job {job_id} on this node")
    if job is None:
        raise missing
    if job.owner == subject.label and subject.id is not None:
        return job
    factory = await session.get(Factory, job.factory_id) if job.factory_id else None
    if factory is None:
        raise missing
    await check_at_factory(runtime, subject, job.action, factory, missing)
    return job


async def claim(session: AsyncSession, job_id: uuid.UUID, *, worker: str) -> Job | None:
    """Mark the job running here (committed), or None when it is done or gone."""
    job = await session.get(Job, job_id, with_for_update=True)
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
    """Keep this run's result (commit), unless another run of the job already did: then roll
    back what this run wrote in `session` and say so."""
    job = await session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.status == JobStatus.SUCCEEDED:
        await session.rollback()
        return False
    job.status = JobStatus.SUCCEEDED.value
    job.result = result
    job.error = None
    job.finished_at = utcnow()
    await session.commit()
    return True


async def fail(session: AsyncSession, job_id: uuid.UUID, error: str, *, final: bool) -> None:
    """Record why this run failed; `final` ends the job (else it is queued for another try)."""
    await session.rollback()
    job = await session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.done:
        await session.rollback()
        return
    job.error = error[:MAX_ERROR]
    job.status = (JobStatus.FAILED if final else JobStatus.QUEUED).value
    if final:
        job.finished_at = utcnow()
    await session.commit()


async def unfinished(session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    """Jobs queued or running: an embedded node queues them again when it starts."""
    rows = await session.execute(
        select(Job.id, Job.kind)
        .where(Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]))
        .order_by(Job.created_at)
    )
    return [(job_id, kind) for job_id, kind in rows]


async def unfinished_before(
    session: AsyncSession, cutoff: dt.datetime
) -> list[tuple[uuid.UUID, str]]:
    """Jobs queued or running that were created before `cutoff`, oldest first."""
    rows = await session.execute(
        select(Job.id, Job.kind)
        .where(
            Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]),
            Job.created_at < cutoff,
        )
        .order_by(Job.created_at)
    )
    return [(job_id, kind) for job_id, kind in rows]
