"""Jobs' rows: made by the request that asks, claimed and finished by whoever runs them (a task
of the API process when embedded, a `yunfab node worker` / `yunfab hub worker` on NATS).

Reading a job (who may see it) is each app's own rule; the rest is here, once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, Generic

from sqlalchemy.ext.asyncio import AsyncSession

from yunfab.db import utcnow
from yunfab.jobs.models import JobStatus
from yunfab.jobs.repository import J, JobRepository
from yunfab.subject import Subject, SubjectKind

MAX_ERROR = 2000


def subject_json(subject: Subject) -> dict[str, Any]:
    """Who asked, as the job runs it: what decisions use (not a person's name or email, which
    a job row has no need to keep)."""
    values = dataclasses.asdict(subject)
    values.pop("name", None)
    values.pop("email", None)
    values["kind"] = subject.kind.value
    values["scopes"] = sorted(subject.scopes)
    values["roles"] = sorted(subject.roles)
    return values


def subject_from(values: dict[str, Any]) -> Subject:
    return Subject(
        **{
            **values,
            "kind": SubjectKind(values["kind"]),
            "scopes": frozenset(values.get("scopes", ())),
            "roles": frozenset(values.get("roles", ())),
        }
    )


class JobStore(Generic[J]):
    """The rules of one app's jobs table (`model`)."""

    def __init__(self, model: type[J], *, keys_per_owner: bool) -> None:
        self.model = model
        self.keys_per_owner = keys_per_owner
        """Whether a key names a job among its asker's (the node) or among all (the hub)."""

    def repository(self, session: AsyncSession) -> JobRepository[J]:
        return JobRepository(session, self.model)

    async def create(
        self, session: AsyncSession, *, kind: str, key: str | None, owner: str, action: str,
        payload: dict[str, Any], **columns: Any,
    ) -> tuple[J, bool]:  # fmt: skip
        """The job, and whether it is new (flushed, not committed): a key asked for before
        returns its job."""
        repository = self.repository(session)
        if key is not None:
            existing = await repository.by_key(
                kind, key, owner=owner if self.keys_per_owner else None
            )
            if existing is not None:
                return existing, False
        # Each app's model takes its columns as keywords (the declarative constructor).
        make: Callable[..., J] = self.model
        job = make(
            kind=kind, key=key, owner=owner, action=action, status=JobStatus.QUEUED.value,
            attempts=0, payload=payload, **columns,
        )  # fmt: skip
        repository.add(job)
        await repository.flush()
        return job, True

    async def claim(self, session: AsyncSession, job_id: uuid.UUID, *, worker: str) -> J | None:
        """Mark the job running here (committed), or None when it is done or gone."""
        job = await self.repository(session).job(job_id, for_update=True)
        if job is None or job.done:
            await session.rollback()
            return None
        job.status = JobStatus.RUNNING.value
        job.attempts += 1
        job.worker = worker
        job.started_at = utcnow()
        await session.commit()
        return job

    async def succeed(
        self, session: AsyncSession, job_id: uuid.UUID, result: dict[str, Any]
    ) -> bool:
        """Keep this run's result (committed with what the run wrote in `session`), unless
        another run of the job already succeeded: then roll back what this run wrote and say
        so. (A run that failed for good meanwhile does not void work this one finished.)"""
        job = await self.repository(session).job(job_id, for_update=True, fresh=True)
        if job is None or job.status == JobStatus.SUCCEEDED:
            await session.rollback()
            return False
        job.status = JobStatus.SUCCEEDED.value
        job.result = result
        job.error = None
        job.finished_at = utcnow()
        await session.commit()
        return True

    async def fail(
        self, session: AsyncSession, job_id: uuid.UUID, error: str, *, final: bool
    ) -> None:
        """Record why this run failed (what it wrote is rolled back); `final` ends the job,
        else it waits for another try."""
        await session.rollback()
        job = await self.repository(session).job(job_id, for_update=True, fresh=True)
        if job is None or job.done:
            await session.rollback()
            return
        job.error = error[:MAX_ERROR]
        job.status = (JobStatus.FAILED if final else JobStatus.QUEUED).value
        if final:
            job.finished_at = utcnow()
        await session.commit()

    async def unfinished(
        self, session: AsyncSession, *, before: dt.datetime | None = None
    ) -> list[tuple[uuid.UUID, str]]:
        """Jobs queued or running, oldest first: an embedded app queues them again when it
        starts; the sweeper those created before `before` whose message was lost."""
        return await self.repository(session).unfinished(before=before)
