"""The node's jobs and who runs them: `yunfab node worker` processes when the node is scaled
out (NATS), else a task of the API process (embedded).

A worker builds the same runtime as the API (registry, vision engine on the shared blob store,
events over NATS so progress reaches the API replicas' subscribers) and takes one job at a time
from the node's JetStream work queue. Kinds of jobs and their handlers are listed here.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import socket

import structlog

from regional_node.audit.service import AuditLog
from regional_node.jobs.models import Job
from regional_node.jobs.service import STORE
from regional_node.orders import jobs as order_jobs
from regional_node.runtime import NodeRuntime, build_runtime, health_checks
from regional_node.settings import NodeSettings
from regional_node.state import NodeState
from regional_node.telemetry import jobs as telemetry_jobs
from regional_node.vision import jobs as vision_jobs
from yunfab.authorization import Authorizer
from yunfab.health_port import Check, HealthPort
from yunfab.jobs import InProcessJobs, NatsJobs
from yunfab.jobs.runner import JobKind, JobRunner
from yunfab.policy import create_engine as create_policy_engine
from yunfab.service import Database

log = structlog.get_logger(__name__)


def kinds(runtime: NodeRuntime) -> dict[str, JobKind[Job]]:
    """The node's kinds of job, their handlers bound to the runtime they work with."""
    return {
        vision_jobs.TRAINING: JobKind(
            run=functools.partial(vision_jobs.run_training, runtime),
            done=functools.partial(vision_jobs.done, runtime),
        ),
        telemetry_jobs.ROLLUP: JobKind(run=functools.partial(telemetry_jobs.run_rollup, runtime)),
        order_jobs.PLAN: JobKind(run=functools.partial(order_jobs.run_planning, runtime)),
        order_jobs.REPLAN: JobKind(run=functools.partial(order_jobs.run_planning, runtime)),
        order_jobs.SCHEDULE: JobKind(run=functools.partial(order_jobs.run_schedule, runtime)),
    }


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def job_runner(runtime: NodeRuntime, db: Database, settings: NodeSettings) -> JobRunner[Job]:
    return JobRunner(
        STORE,
        db.sessionmaker,
        kinds(runtime),
        worker=worker_name(),
        max_attempts=settings.jobs_max_attempts,
        changed=runtime.job_events.publish,
    )


async def work_embedded(state: NodeState) -> None:
    """The API process's own worker, when jobs are queued in it: jobs a stopped process left
    queued or running first, then what comes."""
    runtime = state.runtime
    if not isinstance(runtime.jobs, InProcessJobs):
        return  # NATS: `yunfab node worker` processes take them
    async with state.db.sessionmaker() as session:
        for job_id, kind in await STORE.unfinished(session):
            await runtime.jobs.submit(job_id, kind)
    await runtime.jobs.work(job_runner(runtime, state.db, state.settings).run, asyncio.Event())


def _not_set(event: asyncio.Event) -> Check:
    """Ready until the process is told to stop."""

    async def check() -> bool:
        return not event.is_set()

    return check


class NoQueue(ValueError):
    """A worker process needs the node's NATS to take jobs from."""


async def run_worker(settings: NodeSettings, stop: asyncio.Event | None = None) -> None:
    """Take the node's jobs until SIGTERM or SIGINT (the job in hand is finished first)."""
    if not settings.nats_url:
        raise NoQueue("nats_url: a worker takes jobs from the node's NATS")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    db = Database.open(settings.db_url)
    audit = AuditLog(db.sessionmaker)
    authorizer = Authorizer(
        create_policy_engine(settings.policy_engine, settings.opa_url),
        context={
            "service": "node",
            "node_name": settings.name,
            "node_region": settings.region,
            "operator_org": settings.operator_org,
        },
        audit=audit.append,
    )
    runtime = await build_runtime(settings, db, authorizer, audit)
    health: HealthPort | None = None
    try:
        assert isinstance(runtime.jobs, NatsJobs)
        if settings.health_port:
            live, ready = health_checks(db, runtime)
            health = HealthPort(
                settings.host, settings.health_port, live=live,
                ready={**ready, "taking_jobs": _not_set(stop)},
            )  # fmt: skip
            await health.start()
        log.info("worker_started", worker=worker_name(), ack_wait_s=settings.jobs_ack_wait_s)
        await runtime.jobs.work(job_runner(runtime, db, settings).run, stop)
        log.info("worker_stopping")
    finally:
        if health is not None:
            await health.stop()
        await runtime.close_events()
        broker = runtime.broker
        close = getattr(broker, "close", None)
        if close is not None:
            await close()
        await db.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
