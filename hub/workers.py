"""The hub's jobs and who runs them: `yunfab hub worker` processes when the hub is scaled out
(NATS), else a task of the API process (embedded).

Kinds of jobs and their handlers are listed here. `federated.run` drives a federated run at
the SuperLink to its end: a worker that dies mid-run leaves the job unacknowledged, and the
next worker to get it resumes following the run the SuperLink already has (the run's
`flower_run_id`) instead of starting another. A worker publishes the run's progress on the
hub's events (NATS), so subscribers on every API replica see it. Runs write their files under
the hub's data directory: workers and API replicas share it (one volume), as they share the
database.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from hub.federated.models import RunStatus
from hub.federated.runner import FlowerRunner
from hub.federated.service import RUN_JOB
from hub.jobs.models import Job
from hub.jobs.service import STORE
from hub.runtime import connect_events, connect_jobs
from hub.settings import HubSettings
from hub.state import HubDomain, HubState, HubTask
from yunfab.events import Broadcaster
from yunfab.jobs import InProcessJobs, JobFailed, NatsJobs
from yunfab.jobs.events import JobChanged
from yunfab.jobs.runner import JobKind, JobRunner
from yunfab.service import Database

log = structlog.get_logger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def kinds(runner: FlowerRunner) -> dict[str, JobKind[Job]]:
    async def federated_run(session: AsyncSession, job: Job) -> dict[str, Any]:
        # The run is driven in sessions of its own (its rows change as it goes).
        run = await runner.drive(uuid.UUID(job.payload["run_id"]))
        if run.status is RunStatus.FAILED:
            raise JobFailed(run.error or "the run failed")
        return {
            "run_id": str(run.id),
            "status": run.status.value,
            "model_id": str(run.model_id) if run.model_id else None,
        }

    return {RUN_JOB: JobKind(run=federated_run)}


def job_runner(
    settings: HubSettings, db: Database, runner: FlowerRunner, events: Broadcaster[JobChanged]
) -> JobRunner[Job]:
    return JobRunner(
        STORE,
        db.sessionmaker,
        kinds(runner),
        worker=worker_name(),
        max_attempts=settings.jobs_max_attempts,
        changed=events.publish,
    )


async def work_embedded(state: HubState) -> None:
    """The API process's own worker, when jobs are queued in it: jobs a stopped process left
    queued or running first, then what comes."""
    if not isinstance(state.jobs, InProcessJobs):
        return  # NATS: `yunfab hub worker` processes take them
    async with state.db.sessionmaker() as session:
        for job_id, kind in await STORE.unfinished(session):
            await state.jobs.submit(job_id, kind)
    runner = job_runner(state.settings, state.db, state.federated_runner, state.job_events)
    await state.jobs.work(runner.run, asyncio.Event())


# Jobs run by the API process itself while they are queued in it (no NATS).
EMBEDDED_WORKER = HubDomain(name="embedded_worker", tasks=(HubTask("jobs", work_embedded),))


class NoQueue(ValueError):
    """A worker process needs the hub's NATS to take jobs from."""


async def run_worker(settings: HubSettings, stop: asyncio.Event | None = None) -> None:
    """Take the hub's jobs until SIGTERM or SIGINT (or `stop`)."""
    if not settings.nats_url:
        raise NoQueue("nats_url: a worker takes jobs from the hub's NATS")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    db = Database.open(settings.db_url)
    events = await connect_events(settings)
    jobs = await connect_jobs(settings)
    runner = FlowerRunner(settings, db.sessionmaker, events.runs)
    try:
        assert isinstance(jobs, NatsJobs)
        log.info("worker_started", worker=worker_name(), ack_wait_s=settings.jobs_ack_wait_s)
        await jobs.work(job_runner(settings, db, runner, events.jobs).run, stop)
        log.info("worker_stopping")
    finally:
        await runner.close()
        await jobs.close()
        await events.close()
        await db.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
