"""What a node registering, coming online or going offline tells live subscribers.

Events carry a copy of the node's fields as committed, in plain values: with the hub on NATS
(`nats_url`) they cross to the other replicas' subscribers as JSON (`yunfab.event_bus`)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass

from hub.federation.models import NodeStatus, RegionalNode
from yunfab.events import Broadcaster


class NodeEventKind(enum.StrEnum):
    REGISTERED = "registered"
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True)
class NodeSnapshot:
    """A node's row as committed when the event was published."""

    id: uuid.UUID
    name: str
    region: str
    industry: str
    base_url: str | None
    status: NodeStatus
    last_heartbeat: dt.datetime | None
    registered_at: dt.datetime
    yunfab_version: str | None

    @classmethod
    def of(cls, node: RegionalNode) -> NodeSnapshot:
        return cls(
            id=node.id,
            name=node.name,
            region=node.region,
            industry=node.industry,
            base_url=node.base_url,
            status=node.status,
            last_heartbeat=node.last_heartbeat,
            registered_at=node.registered_at,
            yunfab_version=node.yunfab_version,
        )

    def as_model(self) -> RegionalNode:
        """A detached row with these fields, for the code that shows nodes (never added to a
        session)."""
        return RegionalNode(
            id=self.id,
            name=self.name,
            region=self.region,
            industry=self.industry,
            base_url=self.base_url,
            status=self.status,
            last_heartbeat=self.last_heartbeat,
            registered_at=self.registered_at,
            yunfab_version=self.yunfab_version,
        )


@dataclass(frozen=True)
class NodeEvent:
    kind: NodeEventKind
    node: NodeSnapshot
    at: dt.datetime


NodeEvents = Broadcaster[NodeEvent]
