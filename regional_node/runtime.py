"""What a node's services need beside the session and the subject, built once per process
(the server, or one console command)."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from sqlalchemy import select, text

from regional_node.alerts.engine import TIMER_TTL_S, AlertEngine, AlertEvent
from regional_node.audit.service import AuditLog
from regional_node.broker_admin import BrokerAdmin
from regional_node.devices.models import Device, DeviceStatus
from regional_node.devices.registry import DeviceRegistry
from regional_node.devices.service import follow_factory_status
from regional_node.orders.events import OrderNotice
from regional_node.settings import NodeSettings
from regional_node.telemetry.metrics import IngestMetrics
from regional_node.telemetry.pipeline import IngestPipeline, TelemetryEvent
from regional_node.telemetry.store import TelemetryStore
from regional_node.vision.engine import VisionEngine
from regional_node.vision.events import InspectionEvent, TrainingProgress
from yunfab.authorization import Authorizer
from yunfab.blobs import BlobStore, S3BlobStore
from yunfab.event_bus import NatsEventBus
from yunfab.events import Broadcaster
from yunfab.health_port import Check
from yunfab.jobs import InProcessJobs, NatsJobs
from yunfab.jobs.events import JobChanged
from yunfab.service import Database
from yunfab.shared_state import Leases, MemoryStates, NatsStates, SharedState, SharedStates

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from regional_node.factories.models import Factory, FactoryStatus

log = structlog.get_logger(__name__)


class FactoryStatusListener(Protocol):
    """Told, in the transition's unit of work, that a factory was suspended, reactivated or
    activated (`factory.status` is the new state, `previous` the old)."""

    async def __call__(
        self,
        session: AsyncSession,
        runtime: NodeRuntime,
        factory: Factory,
        previous: FactoryStatus,
    ) -> None: ...


class BrokerAccess(Protocol):
    """The broker's view of device credentials (Mosquitto dynamic security when managed)."""

    async def provision_device(
        self, device_key: str, password: str, *, edge_node_group: str | None = None
    ) -> None: ...

    async def disable_device(self, device_key: str) -> None: ...

    async def enable_device(self, device_key: str) -> None: ...

    async def delete_device(self, device_key: str) -> None: ...

    async def set_password(self, device_key: str, password: str) -> None: ...


@dataclass
class NodeRuntime:
    node_name: str
    authorizer: Authorizer
    audit: AuditLog
    registry: DeviceRegistry
    pipeline: IngestPipeline
    alerts: AlertEngine
    metrics: IngestMetrics
    telemetry_events: Broadcaster[TelemetryEvent]
    alert_events: Broadcaster[AlertEvent]
    broker: BrokerAccess | None = None
    """None when the node does not manage its broker (development on an open broker)."""
    reserved_keys: frozenset[str] = frozenset()
    """Broker logins of the node itself: no device may be provisioned under these names."""
    order_events: Broadcaster[OrderNotice] = field(default_factory=Broadcaster)
    """Progress of orders, for the buyers' live view."""
    vision: VisionEngine = field(default_factory=lambda: VisionEngine(Path("var") / "vision"))
    """Inspection models and kept images (under the node's data directory)."""
    inspection_events: Broadcaster[InspectionEvent] = field(
        default_factory=lambda: Broadcaster(queue_size=64)
    )
    """Parts inspected, for the stations' live feeds (each carries its heatmap)."""
    training_progress: Broadcaster[TrainingProgress] = field(default_factory=Broadcaster)
    """Steps of training jobs, for whoever started each."""
    job_events: Broadcaster[JobChanged] = field(default_factory=Broadcaster)
    """Jobs taken, retried and finished, for `jobProgress` (whoever may read each job)."""
    factory_status_listeners: list[FactoryStatusListener] = field(
        # Devices follow their factory; the runtime composes the domains, so factories need not
        # know who listens.
        default_factory=lambda: [follow_factory_status]
    )
    """Domains that follow factories' status (devices: accepted or refused by the broker)."""
    event_bus: NatsEventBus | None = None
    """NATS, when the node runs as several replicas: the broadcasters above then reach every
    replica's subscribers (closed by `close_events`)."""

    jobs: InProcessJobs | NatsJobs = field(default_factory=InProcessJobs)
    """Where long work is queued: this process's own task (embedded), or NATS for the node's
    workers (`yunfab node worker`)."""

    shared_state: SharedStates | None = None
    """NATS key-value buckets the replicas share (the alert engine's timers), if connected."""

    leases: Leases | None = None
    """The singleton tasks' leases in the shared state (NATS), if connected: each such task
    runs in one replica at a time. None: they run in this process, the only one."""

    local_state: MemoryStates = field(default_factory=MemoryStates, repr=False)
    """Where `bucket` keeps what the replicas would share, when the node runs alone."""

    async def bucket(self, name: str, *, ttl_s: float, max_keys: int = 100_000) -> SharedState:
        """A bucket the replicas share (NATS), or this process's own without NATS: what
        throttles count there holds across every replica, or in the one process."""
        states: SharedStates = self.shared_state or self.local_state
        return await states.bucket(name, ttl_s=ttl_s, max_keys=max_keys)

    async def close_events(self) -> None:
        """Stop the events bus, the jobs queue and the shared state (NATS) `build_runtime`
        connected, if any."""
        if self.event_bus is not None:
            await self.event_bus.close()
            self.event_bus = None
        if self.shared_state is not None:
            await self.shared_state.close()
            self.shared_state = None
        await self.jobs.close()


async def build_runtime(
    settings: NodeSettings, db: Database, authorizer: Authorizer, audit: AuditLog
) -> NodeRuntime:
    """Registry, ingest pipeline and alerts on `db`; the broker admin, started, when the node
    manages its broker (close it with `runtime.broker.close()`)."""
    registry = DeviceRegistry(db.sessionmaker)
    await registry.reload()
    metrics = IngestMetrics()
    blobs: BlobStore | None = None
    location = settings.blob_location()
    if location is not None:
        s3 = S3BlobStore(location)
        await asyncio.to_thread(s3.ensure_bucket)
        blobs = s3
        log.info("vision_files_in_s3", bucket=location.bucket, prefix=s3.prefix)
    bus: NatsEventBus | None = None
    telemetry_events: Broadcaster[TelemetryEvent]
    alert_events: Broadcaster[AlertEvent]
    order_events: Broadcaster[OrderNotice]
    inspection_events: Broadcaster[InspectionEvent]
    training_progress: Broadcaster[TrainingProgress]
    job_events: Broadcaster[JobChanged]
    if settings.nats_url:
        bus = await NatsEventBus.connect(
            settings.nats_url,
            scope=f"node-{settings.name}",
            max_age_s=settings.events_max_age_s,
            max_bytes=settings.events_max_bytes,
            replicas=settings.nats_replicas,
        )
        telemetry_events = await bus.broadcaster("telemetry", TelemetryEvent, queue_size=1024)
        alert_events = await bus.broadcaster("alerts", AlertEvent)
        order_events = await bus.broadcaster("orders", OrderNotice)
        inspection_events = await bus.broadcaster("inspections", InspectionEvent, queue_size=64)
        training_progress = await bus.broadcaster("training", TrainingProgress)
        job_events = await bus.broadcaster("jobs", JobChanged)
        log.info("events_over_nats", url=settings.nats_url, scope=bus.scope)
        jobs: InProcessJobs | NatsJobs = await NatsJobs.connect(
            settings.nats_url,
            scope=f"node-{settings.name}",
            ack_wait_s=settings.jobs_ack_wait_s,
            max_deliver=settings.jobs_max_attempts + 2,
            replicas=settings.nats_replicas,
        )
    else:
        telemetry_events = Broadcaster(queue_size=1024)
        alert_events = Broadcaster()
        order_events = Broadcaster()
        inspection_events = Broadcaster(queue_size=64)
        training_progress = Broadcaster()
        job_events = Broadcaster()
        jobs = InProcessJobs()
    pipeline = IngestPipeline(
        registry=registry,
        store=TelemetryStore(db.engine),
        metrics=metrics,
        events=telemetry_events,
        raw_retention_s=settings.raw_retention_days * 86400,
    )
    alerts = AlertEngine(db.sessionmaker, registry, alert_events, metrics)
    shared: SharedStates | None = None
    leases: Leases | None = None
    if settings.nats_url:
        shared = await NatsStates.connect(
            settings.nats_url, scope=f"node-{settings.name}", replicas=settings.nats_replicas
        )
        alerts.use_shared_timers(await shared.bucket("alert_timers", ttl_s=TIMER_TTL_S))
        leases = Leases(
            await shared.bucket("task_leases", ttl_s=settings.lease_ttl_s, max_keys=1000),
            holder=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
        )
    pipeline.on_accepted.append(alerts.on_readings)
    broker = None
    endpoint = settings.mqtt_endpoint
    if endpoint is not None and settings.broker_admin_username and settings.broker_admin_password:
        broker = BrokerAdmin(
            endpoint[0],
            endpoint[1],
            settings.broker_admin_username,
            settings.broker_admin_password.get_secret_value(),
            tls=ssl.create_default_context() if endpoint[2] else None,
        )
        try:
            await broker.start()
        except BaseException:
            if bus is not None:
                await bus.close()
            if shared is not None:
                await shared.close()
            await jobs.close()
            raise
    return NodeRuntime(
        node_name=settings.name,
        authorizer=authorizer,
        audit=audit,
        registry=registry,
        pipeline=pipeline,
        alerts=alerts,
        metrics=metrics,
        telemetry_events=telemetry_events,
        alert_events=alert_events,
        order_events=order_events,
        inspection_events=inspection_events,
        training_progress=training_progress,
        job_events=job_events,
        event_bus=bus,
        shared_state=shared,
        leases=leases,
        jobs=jobs,
        broker=broker,
        vision=VisionEngine(
            settings.data_dir / "vision",
            max_image_bytes=settings.vision_max_image_mb * 1024 * 1024,
            max_pixels=settings.vision_max_megapixels * 1_000_000,
            inspect_pixels=settings.vision_inspect_megapixels * 1_000_000,
            max_training_pixels=settings.vision_max_training_megapixels * 1_000_000,
            threads=settings.vision_threads,
            blobs=blobs,
        ),
        reserved_keys=frozenset(
            name
            for name in (
                settings.mqtt_username,
                settings.broker_admin_username,
                settings.mqtt_client_id or f"yunfab-node-{settings.name}",
            )
            if name
        ),
    )


def health_checks(db: Database, runtime: NodeRuntime) -> tuple[dict[str, Check], dict[str, Check]]:
    """The checks of a process without an API (`yunfab node worker`, `yunfab node ingest`) on
    its health port: (live, ready). Live: the database answers and no NATS connection is
    closed for good (one reconnecting is still alive). Ready: every NATS connection is up."""

    async def database() -> bool:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    def connections() -> list[Any]:
        held: list[Any] = [runtime.event_bus, runtime.jobs, runtime.shared_state]
        return [nc for nc in (getattr(engine, "nc", None) for engine in held) if nc is not None]

    async def nats_alive() -> bool:
        return not any(nc.is_closed for nc in connections())

    async def nats_connected() -> bool:
        return all(nc.is_connected for nc in connections())

    return {"database": database, "nats": nats_alive}, {"nats_connected": nats_connected}


async def reconcile_broker(db: Database, broker: BrokerAdmin) -> None:
    """Bring the broker in line with the node's device states at startup: a device suspended
    or retired while the broker could not be told is disabled or removed there now. (An active
    device missing from the broker cannot be restored without its secret: it is reported, and
    rotating its credentials provisions it again.)"""
    clients = {client.username: client for client in await broker.list_clients()}
    async with db.sessionmaker() as session:
        devices = (await session.execute(select(Device.key, Device.status))).all()
    for key, status in devices:
        client = clients.get(key)
        if status is DeviceStatus.RETIRED and client is not None:
            await broker.delete_device(key)
            log.info("broker_reconciled", device=key, action="deleted")
        elif status is DeviceStatus.SUSPENDED and client is not None and not client.disabled:
            await broker.disable_device(key)
            log.info("broker_reconciled", device=key, action="disabled")
        elif status in (DeviceStatus.PROVISIONED, DeviceStatus.ACTIVE) and client is None:
            log.warning("device_missing_at_broker", device=key, fix="rotate its credentials")
