"""The node's jobs: made by the request that asks (`create_job`), read by who asked or may do
the job's action at its factory (`get_job`); claimed and finished through `STORE` (the shared
`yunfab.jobs.service.JobStore`) by whoever runs them (the API process when embedded, a
`yunfab node worker` when scaled out)."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from regional_node.factories.models import Factory
from regional_node.factories.service import check_at_factory
from regional_node.jobs.errors import JobNotFound
from regional_node.jobs.models import Job
from yunfab.errors import InvalidInput
from yunfab.jobs.service import JobStore
from yunfab.subject import Subject

if TYPE_CHECKING:
    from regional_node.runtime import NodeRuntime

STORE = JobStore(Job, keys_per_owner=True)
KEY = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def check_key(key: str | None) -> None:
    """A caller's own name for a job: refused before anything is stored when malformed."""
    if key is not None and not KEY.fullmatch(key):
        raise InvalidInput("key: 1-128 letters, digits, '.', '_', ':' or '-'")


async def create_job(
    session: AsyncSession, subject: Subject, *, kind: str, key: str | None,
    factory_id: uuid.UUID | None, action: str, payload: dict[str, Any],
) -> tuple[Job, bool]:  # fmt: skip
    """The job, and whether it is new: a key the subject gave before returns its job. One
    about no factory (`factory_id` None) is seen only by who asked."""
    return await STORE.create(
        session, kind=kind, key=key, owner=subject.label, action=action, payload=payload,
        factory_id=factory_id,
    )  # fmt: skip


async def queue_job(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, kind: str,
    key: str | None, factory_id: uuid.UUID | None, action: str, payload: dict[str, Any],
) -> Job:  # fmt: skip
    """Make the job and queue it (committed first, so that no worker is told of a job that is
    not there); a key the subject gave before returns its job, queued once."""
    job, new = await create_job(
        session, subject, kind=kind, key=key, factory_id=factory_id, action=action,
        payload=payload,
    )  # fmt: skip
    if new:
        await session.commit()
        await runtime.jobs.submit(job.id, kind)
    return job


async def get_job(
    session: AsyncSession, subject: Subject, *, runtime: NodeRuntime, job_id: uuid.UUID
) -> Job:
    """A job, to who asked for it or may do its action at its factory."""
    job = await STORE.repository(session).job(job_id)
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
