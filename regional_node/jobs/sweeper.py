"""Jobs whose queue message was lost are queued again.

A request commits its job's row before it publishes the job to the work queue (so no worker
can take a job that is not there); a publish that fails after that commit, or a work-queue
stream lost with its only NATS server, leaves a job queued that no worker will ever be given.
While the queue is empty, every job the table holds as queued or running is such a job: this
task, once per node, publishes those again (and nothing more until the queue is empty again); a
job delivered twice still runs once (its row decides, see `regional_node.jobs.runner`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Coroutine
from typing import Any

import structlog

from regional_node.jobs.service import unfinished_before
from regional_node.state import NodeState
from yunfab.db import utcnow
from yunfab.jobs import NatsJobs

log = structlog.get_logger(__name__)


async def resubmit_lost(state: NodeState) -> int:
    """One sweep: how many jobs were published again."""
    jobs = state.runtime.jobs
    if not isinstance(jobs, NatsJobs) or await jobs.waiting():
        return 0
    # A job younger than this may be between its commit and its publish.
    cutoff = utcnow() - dt.timedelta(seconds=state.settings.jobs_ack_wait_s)
    async with state.db.sessionmaker() as session:
        lost = await unfinished_before(session, cutoff)
    for job_id, kind in lost:
        await jobs.resubmit(job_id, kind)
        log.warning("job_resubmitted", job=str(job_id), kind=kind)
    return len(lost)


async def _sweep(state: NodeState) -> None:
    interval_s = max(1.0, state.settings.jobs_ack_wait_s / 2)
    while True:
        await asyncio.sleep(interval_s)
        try:
            await resubmit_lost(state)
        except Exception:  # NATS or the database away for a moment: the next sweep tries again
            log.exception("job_sweep_failed")


def sweep(state: NodeState) -> Coroutine[Any, Any, None] | None:
    """The background task; None when jobs run in the API process (they cannot be lost)."""
    if not state.settings.nats_url:
        return None
    return _sweep(state)
