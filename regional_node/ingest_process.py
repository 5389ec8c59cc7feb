"""`yunfab node ingest`: the node's MQTT telemetry consumer as a process of its own.

A province-wide node takes more readings than one API process should commit beside its
requests. Ingest processes split the stream through an MQTT 5 shared subscription
(`mqtt_shared_group`), each with a fixed client id of its own (`mqtt_client_id`, as a
StatefulSet's pod names give) and a persistent session: a message is acknowledged only once the
batch holding it committed, so a consumer killed mid-stream finds what it had not acknowledged
again when it comes back under its id, and nothing is lost. The API processes then run without
`mqtt_url`. Live subscribers on the API replicas hear of the readings through NATS
(`nats_url`), as they hear of each other's.

What runs here: the device registry, the ingest pipeline with its alert rules, the consumer. No
HTTP API, no hub link, no rollups (the API processes' maintenance does those); with
`health_port` a health port for the pod's probes (`/readyz` also asks that the consumer is
connected to the broker). With NATS and a shared group, the node's Sparkplug STATE is announced
by one consumer at a time (`regional_node.telemetry.host_state`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
from typing import Any

import structlog

from regional_node.audit.service import AuditLog
from regional_node.domains import mqtt_options
from regional_node.runtime import build_runtime, health_checks
from regional_node.settings import NodeSettings
from regional_node.telemetry.host_state import LEASE as HOST_LEASE
from regional_node.telemetry.host_state import HostState
from regional_node.telemetry.mqtt import MqttIngest
from yunfab.authorization import Authorizer
from yunfab.health_port import HealthPort
from yunfab.policy import create_engine as create_policy_engine
from yunfab.service import Database

log = structlog.get_logger(__name__)


class NoBroker(ValueError):
    """An ingest process needs a broker to consume from."""


async def run_ingest(settings: NodeSettings, stop: asyncio.Event | None = None) -> None:
    """Consume until SIGTERM or SIGINT (or `stop`), then let the batch in hand commit."""
    options = mqtt_options(settings)
    if options is None:
        raise NoBroker("mqtt_url: an ingest process needs the broker's URL")
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
    host: HostState | None = None
    if runtime.leases is not None and options.shared_group:
        # Several consumers: the node's Sparkplug STATE comes from one of them at a time.
        options = dataclasses.replace(options, announce_state=False)
        host = HostState(options)
    consumer = MqttIngest(
        options, pipeline=runtime.pipeline, registry=runtime.registry, metrics=runtime.metrics
    )
    health: HealthPort | None = None
    announcing: asyncio.Task[None] | None = None
    try:
        if settings.health_port:
            live, ready = health_checks(db, runtime)

            async def mqtt_connected() -> bool:
                return consumer.status.connected and not stop.is_set()

            health = HealthPort(
                settings.host, settings.health_port, live=live,
                ready={**ready, "mqtt": mqtt_connected},
            )  # fmt: skip
            await health.start()
        await consumer.start()
        if host is not None and runtime.leases is not None:
            announcing = asyncio.create_task(runtime.leases.hold(HOST_LEASE, host.announce))
        log.info(
            "ingest_started",
            client_id=options.client_id,
            shared_group=options.shared_group,
            events="nats" if runtime.event_bus is not None else "in-process",
        )
        await stop.wait()
        log.info("ingest_stopping")
    finally:
        if announcing is not None and host is not None and runtime.leases is not None:
            if HOST_LEASE in runtime.leases.held:
                await host.say_offline()
            announcing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await announcing
        if health is not None:
            await health.stop()
        await consumer.stop()
        await runtime.close_events()
        broker: Any = runtime.broker
        if broker is not None:
            await broker.close()
        await db.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
