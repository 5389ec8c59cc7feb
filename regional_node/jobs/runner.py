"""Running one job: claim its row, run its kind's handler, keep one result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from regional_node.jobs.models import Job
from regional_node.jobs.service import claim, fail, succeed
from yunfab.errors import YunfabError
from yunfab.jobs import JobFailed, JobTicket

if TYPE_CHECKING:
    from regional_node.runtime import NodeRuntime

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class JobKind:
    run: Callable[[NodeRuntime, AsyncSession, Job], Awaitable[dict[str, Any]]]
    """Does the work; writes in the session are committed with the job's success."""
    done: Callable[[NodeRuntime, Job, dict[str, Any] | None], Awaitable[None]] | None = None
    """After the outcome is committed: tell followers, clean up (its errors are logged)."""


class JobRunner:
    def __init__(
        self,
        runtime: NodeRuntime,
        sessionmaker: async_sessionmaker[AsyncSession],
        kinds: dict[str, JobKind],
        *,
        worker: str,
        max_attempts: int,
    ) -> None:
        self.runtime = runtime
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
            kind = self.kinds.get(job.kind)
            if kind is None:
                await fail(session, job.id, f"no handler for jobs of kind {job.kind}", final=True)
                raise JobFailed(job.kind)
            try:
                result = await kind.run(self.runtime, session, job)
            except YunfabError as exc:  # refused or bad input: trying again will not help
                await fail(session, job.id, f"{exc.code}: {exc.detail}", final=True)
                await self._done(kind, job, None)
                raise JobFailed(exc.detail) from exc
            except Exception as exc:
                final = job.attempts >= self.max_attempts
                await fail(session, job.id, f"{type(exc).__name__}: {exc}", final=final)
                if final:
                    await self._done(kind, job, None)
                    raise JobFailed(str(exc)) from exc
                raise
            kept = await succeed(session, job.id, result)
            log.info("job_finished", job=str(job.id), kind=job.kind, kept=kept)
            if kept:
                await self._done(kind, job, result)

    async def _done(self, kind: JobKind, job: Job, result: dict[str, Any] | None) -> None:
        if kind.done is None:
            return
        try:
            await kind.done(self.runtime, job, result)
        except Exception:
            log.exception("job_cleanup_failed", job=str(job.id))
