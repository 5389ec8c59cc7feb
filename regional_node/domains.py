"""The node's domains, in the order they start (and their GraphQL root types merge), and the
runtime they share (device registry, ingest pipeline, alert engine, vision; the managed broker
and the MQTT consumer), started once the hub link is up."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from regional_node.alerts.domain import DOMAIN as alerts
from regional_node.audit.domain import DOMAIN as audit
from regional_node.audit_trail.domain import DOMAIN as audit_trail
from regional_node.broker_admin import BrokerAdmin
from regional_node.data_products.domain import DOMAIN as data_products
from regional_node.demand.domain import DOMAIN as demand
from regional_node.devices.domain import DOMAIN as devices
from regional_node.factories.domain import DOMAIN as factories
from regional_node.gateways.domain import DOMAIN as gateways
from regional_node.hub_link.domain import DOMAIN as hub_link
from regional_node.identity.domain import DOMAIN as identity
from regional_node.jobs.domain import DOMAIN as jobs
from regional_node.market.domain import DOMAIN as market
from regional_node.orders.domain import DOMAIN as orders
from regional_node.overview.domain import DOMAIN as overview
from regional_node.runtime import build_runtime, reconcile_broker
from regional_node.settings import NodeSettings
from regional_node.state import NodeDomain, NodeState, NodeTask
from regional_node.telemetry.domain import DOMAIN as telemetry
from regional_node.telemetry.mqtt import MqttIngest, MqttOptions
from regional_node.viewer.domain import DOMAIN as viewer
from regional_node.vision.domain import DOMAIN as vision
from regional_node.workers import work_embedded
from regional_node.workforce.domain import DOMAIN as workforce
from yunfab.graphql.http import anonymous_limit


def mqtt_options(settings: NodeSettings) -> MqttOptions | None:
    """How the node's MQTT consumer connects, or None without a broker."""
    endpoint = settings.mqtt_endpoint
    if endpoint is None:
        return None
    return MqttOptions(
        host=endpoint[0],
        port=endpoint[1],
        tls=ssl.create_default_context() if endpoint[2] else None,
        client_id=settings.mqtt_client_id or f"yunfab-node-{settings.name}",
        host_id=settings.name,
        username=settings.mqtt_username,
        password=settings.mqtt_password.get_secret_value() if settings.mqtt_password else None,
        shared_group=settings.mqtt_shared_group,
        session_expiry_s=settings.mqtt_session_expiry_s,
        max_message_bytes=settings.mqtt_max_message_bytes,
    )


@asynccontextmanager
async def start_runtime(state: NodeState) -> AsyncIterator[None]:
    """The runtime, its broker admin (when the node manages its broker) and MQTT consumer
    (unless `mqtt_consume` is off: ingest processes consume)."""
    settings, db = state.settings, state.db
    runtime = await build_runtime(settings, db, state.authorizer, state.audit)
    state.runtime = runtime
    state.anonymous_requests = await anonymous_limit(settings, runtime.shared_state)
    broker = runtime.broker if isinstance(runtime.broker, BrokerAdmin) else None
    if broker is not None and settings.mqtt_username and settings.mqtt_password:
        await broker.ensure_ingest_client(
            settings.mqtt_username, settings.mqtt_password.get_secret_value(), settings.name
        )
    if broker is not None:
        await reconcile_broker(db, broker)
    options = mqtt_options(settings) if settings.mqtt_consume else None
    if options is not None:
        mqtt = MqttIngest(
            options,
            pipeline=runtime.pipeline,
            registry=runtime.registry,
            metrics=runtime.metrics,
        )
        await mqtt.start()
        state.mqtt = mqtt
    try:
        yield
    finally:
        await runtime.close_events()
        if broker is not None:
            await broker.close()


async def stop_mqtt(state: NodeState) -> None:
    """MQTT stops first at shutdown: no reading comes in while the tasks end."""
    if state.mqtt is not None:
        await state.mqtt.stop()


RUNTIME = NodeDomain(name="runtime", start=start_runtime, drain=stop_mqtt)
# Jobs run by the API process itself while they are queued in it (no NATS).
EMBEDDED_WORKER = NodeDomain(name="embedded_worker", tasks=(NodeTask("jobs", work_embedded),))

DOMAINS: list[NodeDomain] = [
    identity,
    hub_link,
    RUNTIME,  # after the hub link (as it always started), before every task
    viewer,
    overview,
    factories,
    devices,
    telemetry,
    alerts,
    audit,
    audit_trail,
    orders,
    vision,
    data_products,
    market,
    demand,
    gateways,
    workforce,
    jobs,
    EMBEDDED_WORKER,
]
