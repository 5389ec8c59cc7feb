from __future__ import annotations

import datetime as dt

import strawberry

from hub.federation.events import NodeEvent, NodeEventKind
from hub.federation.models import NodeStatus, RegionalNode
from hub.federation.service import effective_status
from hub.settings import HubSettings
from yunfab.db import utcnow
from yunfab.graphql.permissions import allowed

strawberry.enum(NodeStatus, name="RegionalNodeStatus")
strawberry.enum(NodeEventKind, name="RegionalNodeEventKind")


@strawberry.type(name="RegionalNode", description="A regional or industry node of the platform.")
class RegionalNodeType:
    name: str
    region: str = strawberry.field(description="ISO 3166-2 code, e.g. CN-ZJ.")
    industry: str
    status: NodeStatus = strawberry.field(
        description="OFFLINE once heartbeats stop for longer than the hub's offline window."
    )
    last_heartbeat: dt.datetime | None
    registered_at: dt.datetime
    model: strawberry.Private[RegionalNode]

    @strawberry.field(
        description="Where the node's API is; for signed-in members with nodes:read.",
        permission_classes=[allowed("hub.regional_node.read_field", field="baseUrl")],
    )
    def base_url(self) -> str | None:
        return self.model.base_url

    @strawberry.field(
        description="The Yunfab version the node last registered with; null until it reports "
        "one. For signed-in members with nodes:read (which versions run where is no one else's "
        "business).",
        permission_classes=[allowed("hub.regional_node.read_field", field="version")],
    )
    def version(self) -> str | None:
        return self.model.yunfab_version

    @classmethod
    def from_model(cls, node: RegionalNode, settings: HubSettings) -> RegionalNodeType:
        status = effective_status(
            node, now=utcnow(), offline_after=dt.timedelta(seconds=settings.node_offline_after_s)
        )
        return cls(
            name=node.name,
            region=node.region,
            industry=node.industry,
            status=status,
            last_heartbeat=node.last_heartbeat,
            registered_at=node.registered_at,
            model=node,
        )


@strawberry.type(name="RegionalNodeEvent")
class RegionalNodeEventType:
    kind: NodeEventKind
    at: dt.datetime
    node: RegionalNodeType

    @classmethod
    def from_event(cls, event: NodeEvent, settings: HubSettings) -> RegionalNodeEventType:
        return cls(
            kind=event.kind,
            at=event.at,
            node=RegionalNodeType.from_model(event.node.as_model(), settings),
        )


@strawberry.input
class RegionalNodeFilter:
    region: str | None = None
    industry: str | None = None
    status: NodeStatus | None = strawberry.field(
        default=None, description="As the `status` field shows it (heartbeats included)."
    )
