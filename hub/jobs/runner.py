"""Running one job: claim its row, run its kind's handler, keep one outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.jobs.models import Job
from hub.jobs.service import claim, fail, succeed
from yunfab.errors import YunfabError
from yunfab.jobs import JobFailed, JobTicket

log = structlog.get_logger(__name__)

Handler = Callable[[Job], Awaitable[dict[str, Any]]]
"""Does a job's work in sessions of its own (its result is kept on the job); raises `JobFailed`
(or a `YunfabError`) when trying again cannot help."""


class JobRunner:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        kinds: dict[str, Handler],
        *,
        worker: str,
        max_attempts: int,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.kinds = kinds
        self.worker = worker
        self.max_attempts = max_attempts

    async def run(self, ticket: JobTicket) -> None:
        async with self.sessionmaker() as session:
            job = await claim(session, ticket.job_id, worker=self.worker)
            if job is None:
                return  # done by another run, or gone
            log.info("job_started", job=str(job.id), kind=job.kind, attempt=job.attempts)
            handler = self.kinds.get(job.kind)
            if handler is None:
                await fail(session, job.id, f"no handler for jobs of kind {job.kind}", final=True)
                raise JobFailed(job.kind)
            try:
                result = await handler(job)
            except JobFailed as exc:
                await fail(session, job.id, str(exc) or "failed", final=True)
                raise
            except YunfabError as exc:  # refused or bad input: trying again will not help
                await fail(session, job.id, f"{exc.code}: {exc.detail}", final=True)
                raise JobFailed(exc.detail) from exc
            except Exception as exc:
                final = job.attempts >= self.max_attempts
                await fail(session, job.id, f"{type(exc).__name__}: {exc}", final=final)
                if final:
                    raise JobFailed(str(exc)) from exc
                raise
            kept = await succeed(session, job.id, result)
            log.info("job_finished", job=str(job.id), kind=job.kind, kept=kept)
