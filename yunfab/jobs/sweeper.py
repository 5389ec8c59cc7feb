"""Jobs whose queue message was lost are queued again.

A request commits its job's row before it publishes the job to the work queue (so no worker
can take a job that is not there); a publish that fails after that commit, or a work-queue
stream lost with its only NATS server, leaves a job queued that no worker will ever be given.
While the queue is empty, every job the table holds as queued or running is such a job: this
task, once per app (a singleton task, under a lease), publishes those again, and nothing more
until the queue is empty again; a job delivered twice still runs once (its row decides, see
`yunfab.jobs.runner`).
"""

from __future__ import annotations

import asyncio
import datetime as dt

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from yunfab.db import utcnow
from yunfab.jobs.queue import InProcessJobs, NatsJobs
from yunfab.jobs.repository import J
from yunfab.jobs.service import JobStore

log = structlog.get_logger(__name__)


async def resubmit_lost(
    jobs: InProcessJobs | NatsJobs,
    store: JobStore[J],
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    ack_wait_s: float,
) -> int:
    """One sweep: how many jobs were published again (none when jobs run in this process:
    they cannot be lost)."""
    if not isinstance(jobs, NatsJobs) or await jobs.waiting():
        return 0
    # A job younger than this may be between its commit and its publish.
    cutoff = utcnow() - dt.timedelta(seconds=ack_wait_s)
    async with sessionmaker() as session:
        lost = await store.unfinished(session, before=cutoff)
    for job_id, kind in lost:
        await jobs.resubmit(job_id, kind)
        log.warning("job_resubmitted", job=str(job_id), kind=kind)
    return len(lost)


async def sweep(
    jobs: InProcessJobs | NatsJobs,
    store: JobStore[J],
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    ack_wait_s: float,
) -> None:
    """Sweep every half `ack_wait_s` (at least a second) until cancelled."""
    interval_s = max(1.0, ack_wait_s / 2)
    while True:
        await asyncio.sleep(interval_s)
        try:
            await resubmit_lost(jobs, store, sessionmaker, ack_wait_s=ack_wait_s)
        except Exception:  # NATS or the database away for a moment: the next sweep tries again
            log.exception("job_sweep_failed")
