"""The node's runtime state: built by its lifespan, each domain's `start` filling in its part."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette

from regional_node.audit.service import AuditLog
from regional_node.data_products.publisher import DataPublisher
from regional_node.devices.credentials import VerifiedSecrets
from regional_node.hub_link.auth import HubKeys
from regional_node.hub_link.link import HubLink
from regional_node.market.installer import MarketInstaller
from regional_node.runtime import NodeRuntime
from regional_node.settings import NodeSettings
from regional_node.telemetry.mqtt import MqttIngest
from yunfab.domains import Domain, Task
from yunfab.ratelimit import SharedCredentialThrottle, SharedFailureThrottle, SharedTokenBucket
from yunfab.state import ServiceState, state_of


@dataclass(kw_only=True)
class NodeState(ServiceState):
    settings: NodeSettings
    audit: AuditLog
    public_url: str
    hub_auth: httpx.Auth | None = None
    """Signs calls to the hub (else the node's client credentials, when it has them)."""
    hub_transport: httpx.AsyncBaseTransport | None = None
    """Reaches an in-process hub (tests) instead of the network."""
    # hub link
    hub_keys: HubKeys = field(init=False)
    hub_link: HubLink = field(init=False)
    # the runtime the domains share (registry, ingest pipeline, alerts, vision), its MQTT consumer
    runtime: NodeRuntime = field(init=False)
    mqtt: MqttIngest | None = None
    # telemetry over HTTP (bad device logins counted across the replicas)
    device_throttle: SharedCredentialThrottle = field(init=False)
    device_secrets: VerifiedSecrets = field(init=False)
    # gateways claiming their credentials with one-time codes (per address, across the replicas)
    claim_requests: SharedTokenBucket = field(init=False)
    claim_failures: SharedFailureThrottle = field(init=False)
    # data products, market
    data_publisher: DataPublisher | None = None
    market_installer: MarketInstaller = field(init=False)


NodeDomain = Domain[NodeState, NodeSettings]
NodeTask = Task[NodeState]


def node_state(app: Starlette) -> NodeState:
    return state_of(app, NodeState)
