from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from regional_node.graphql.context import NodeContext
from regional_node.hub_link.link import LinkState, LinkStatus
from yunfab.graphql.permissions import allowed
from yunfab.graphql.subscriptions import gated_events

strawberry.enum(LinkState, name="HubLinkState")


@strawberry.type(name="HubLink", description="This node's connection to its hub.")
class HubLinkType:
    status: LinkState
    state: LinkState = strawberry.field(
        deprecation_reason="Use `status`: node types name their state `status`."
    )
    hub_url: str
    attempts: int = strawberry.field(description="Consecutive failed attempts; 0 while healthy.")
    last_error: str | None
    last_heartbeat_at: dt.datetime | None
    registered_at: dt.datetime | None
    next_attempt_at: dt.datetime | None

    @classmethod
    def from_status(cls, status: LinkStatus) -> HubLinkType:
        return cls(
            status=status.state,
            state=status.state,
            hub_url=status.hub_url,
            attempts=status.attempts,
            last_error=status.last_error,
            last_heartbeat_at=status.last_heartbeat_at,
            registered_at=status.registered_at,
            next_attempt_at=status.next_attempt_at,
        )


@strawberry.type(name="Node", description="This regional node.")
class NodeType:
    name: str
    region: str
    industry: str
    public_url: str
    hub_link: HubLinkType


@strawberry.type
class NodeQuery:
    @strawberry.field(permission_classes=[allowed("node.info.read")])
    def node(self, info: Info[NodeContext, None]) -> NodeType:
        context = info.context
        settings = context.settings
        return NodeType(
            name=settings.name,
            region=settings.region,
            industry=settings.industry,
            public_url=context.hub_link.registration.base_url,
            hub_link=HubLinkType.from_status(context.hub_link.status),
        )


@strawberry.type
class NodeSubscription:
    @strawberry.subscription(
        description="The hub link's state as it changes.",
        permission_classes=[allowed("node.info.read")],
    )
    async def hub_link_changes(
        self, info: Info[NodeContext, None]
    ) -> AsyncGenerator[HubLinkType, None]:
        context = info.context
        async for status in gated_events(
            context, context.hub_link.changes.subscribe(), action="node.info.read"
        ):
            yield HubLinkType.from_status(status)
