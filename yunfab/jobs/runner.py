"""Running one delivery of a job: claim its row, run its kind's handler, keep one outcome."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from yunfab.errors import YunfabError
from yunfab.jobs.events import JobChanged
from yunfab.jobs.models import JobStatus
from yunfab.jobs.queue import JobFailed, JobTicket
from yunfab.jobs.repository import J
from yunfab.jobs.service import JobStore

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class JobKind(Generic[J]):
    run: Callable[[AsyncSession, J], Awaitable[dict[str, Any]]]
    """Does the work and returns its result; what it writes in the session is committed with
    the job's success (or rolled back when another run succeeded first). It raises `JobFailed`
    (or a `YunfabError`: refused, bad input) when trying again cannot help."""
    done: Callable[[J, dict[str, Any] | None], Awaitable[None]] | None = None
    """After the outcome is committed (the result, or None once failed for good): tell
    followers, clean up (its errors are logged)."""


class JobRunner(Generic[J]):
    def __init__(
        self,
        store: JobStore[J],
        sessionmaker: async_sessionmaker[AsyncSession],
        kinds: dict[str, JobKind[J]],
        *,
        worker: str,
        max_attempts: int,
        changed: Callable[[JobChanged], None] | None = None,
    ) -> None:
        self.store = store
        self.sessionmaker = sessionmaker
        self.kinds = kinds
        self.worker = worker
        self.max_attempts = max_attempts
        self.changed = changed
        """Told of each change of a job's row once it is committed (the app's job events)."""

    async def run(self, ticket: JobTicket) -> None:
        """The queue's handler: returns once the job is done (or was done by another run);
        raises `JobFailed` once it failed for good, anything else to have it tried again."""
        store = self.store
        async with self.sessionmaker() as session:
            job = await store.claim(session, ticket.job_id, worker=self.worker)
            if job is None:
                return  # done by another run, or gone
            log.info("job_started", job=str(job.id), kind=job.kind, attempt=job.attempts)
            attempts = job.attempts
            self._tell(job.id, JobStatus.RUNNING, attempts)
            kind = self.kinds.get(job.kind)
            if kind is None:
                error = f"no handler for jobs of kind {job.kind}"
                await self._fail(session, job.id, error, attempts, final=True)
                raise JobFailed(job.kind)
            try:
                result = await kind.run(session, job)
            except JobFailed as exc:
                await self._fail(session, job.id, str(exc) or "failed", attempts, final=True)
                await self._done(kind, job, None)
                raise
            except YunfabError as exc:  # refused or bad input: trying again will not help
                error = f"{exc.code}: {exc.detail}"
                await self._fail(session, job.id, error, attempts, final=True)
                await self._done(kind, job, None)
                raise JobFailed(exc.detail) from exc
            except Exception as exc:
                final = attempts >= self.max_attempts
                error = f"{type(exc).__name__}: {exc}"
                await self._fail(session, job.id, error, attempts, final=final)
                if final:
                    await self._done(kind, job, None)
                    raise JobFailed(str(exc)) from exc
                raise
            kept = await store.succeed(session, job.id, result)
            log.info("job_finished", job=str(job.id), kind=job.kind, kept=kept)
            if kept:
                self._tell(job.id, JobStatus.SUCCEEDED, attempts)
                await self._done(kind, job, result)

    async def _fail(
        self, session: AsyncSession, job_id: uuid.UUID, error: str, attempts: int, *, final: bool
    ) -> None:
        await self.store.fail(session, job_id, error, final=final)
        self._tell(job_id, JobStatus.FAILED if final else JobStatus.QUEUED, attempts)

    def _tell(self, job_id: uuid.UUID, status: JobStatus, attempts: int) -> None:
        if self.changed is None:
            return
        try:
            self.changed(JobChanged(job_id, status.value, attempts))
        except Exception:  # a follower's trouble is not the job's
            log.exception("job_event_failed", job=str(job_id))

    async def _done(self, kind: JobKind[J], job: J, result: dict[str, Any] | None) -> None:
        if kind.done is None:
            return
        try:
            await kind.done(job, result)
        except Exception:
            log.exception("job_cleanup_failed", job=str(job.id))
