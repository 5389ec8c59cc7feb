"""The hub's events and jobs queue: in this process (the embedded default), or on NATS when
the hub runs as several replicas with `yunfab hub worker` processes (`nats_url`).

Built once per process (an API replica, a worker) before the domains start: the same code
publishes and subscribes either way (`yunfab.events.Broadcaster` is the interface)."""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from hub.federated.events import RunChanged, RunEvents
from hub.federation.events import NodeEvent, NodeEvents
from hub.settings import HubSettings
from yunfab.event_bus import NatsEventBus
from yunfab.events import Broadcaster
from yunfab.jobs import InProcessJobs, NatsJobs
from yunfab.jobs.events import JobChanged

log = structlog.get_logger(__name__)


@dataclass
class HubEvents:
    nodes: NodeEvents
    """Nodes registering, coming online, going offline (`regionalNodeEvents`)."""
    runs: RunEvents
    """Federated runs whose row changed (`federatedRunProgress`)."""
    bus: NatsEventBus | None = None
    jobs: Broadcaster[JobChanged] = field(default_factory=Broadcaster)
    """Jobs taken, retried and finished (`jobProgress`)."""

    async def close(self) -> None:
        if self.bus is not None:
            await self.bus.close()
            self.bus = None


async def connect_events(settings: HubSettings) -> HubEvents:
    if not settings.nats_url:
        return HubEvents(nodes=NodeEvents(), runs=RunEvents())
    bus = await NatsEventBus.connect(
        settings.nats_url,
        scope=settings.nats_scope,
        max_age_s=settings.events_max_age_s,
        max_bytes=settings.events_max_bytes,
        replicas=settings.nats_replicas,
    )
    try:
        nodes = await bus.broadcaster("nodes", NodeEvent)
        runs = await bus.broadcaster("federated_runs", RunChanged)
        jobs = await bus.broadcaster("jobs", JobChanged)
    except BaseException:
        await bus.close()
        raise
    log.info("events_over_nats", url=settings.nats_url, scope=bus.scope)
    return HubEvents(nodes=nodes, runs=runs, bus=bus, jobs=jobs)


async def connect_jobs(settings: HubSettings) -> InProcessJobs | NatsJobs:
    """This process's own queue, or the hub's JetStream work queue for its workers."""
    if not settings.nats_url:
        return InProcessJobs()
    return await NatsJobs.connect(
        settings.nats_url,
        scope=settings.nats_scope,
        ack_wait_s=settings.jobs_ack_wait_s,
        max_deliver=settings.jobs_max_attempts + 2,
        replicas=settings.nats_replicas,
    )
