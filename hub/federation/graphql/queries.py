from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from hub.federation import service
from hub.federation.graphql.types import (
    RegionalNodeEventType,
    RegionalNodeFilter,
    RegionalNodeType,
)
from hub.graphql.context import HubContext
from yunfab.graphql.pagination import Connection
from yunfab.graphql.permissions import allowed
from yunfab.graphql.resolvers import page_request, query
from yunfab.graphql.subscriptions import gated_events


@strawberry.type
class FederationQuery:
    @strawberry.field(
        description="Registered nodes, ordered by name.",
        permission_classes=[allowed("hub.regional_nodes.list")],
    )
    async def regional_nodes(
        self,
        info: Info[HubContext, None],
        first: int = 50,
        after: str | None = None,
        filter: RegionalNodeFilter | None = None,
    ) -> Connection[RegionalNodeType]:
        context = info.context
        page = await query(
            context,
            service.list_nodes,
            page=page_request(context, first, after, arity=1),
            region=filter.region if filter else None,
            industry=filter.industry if filter else None,
            status=filter.status if filter else None,
            offline_after=dt.timedelta(seconds=context.settings.node_offline_after_s),
        )
        return Connection[RegionalNodeType].from_page(
            page,
            key=lambda node: (node.name,),
            node=lambda node: RegionalNodeType.from_model(node, context.settings),
            after=after,
        )

    @strawberry.field(permission_classes=[allowed("hub.regional_nodes.list")])
    async def regional_node(
        self, info: Info[HubContext, None], name: str
    ) -> RegionalNodeType | None:
        context = info.context
        node = await query(context, service.get_node, name=name)
        return RegionalNodeType.from_model(node, context.settings) if node else None


@strawberry.type
class FederationSubscription:
    @strawberry.subscription(
        description="Nodes registering, coming online and going offline, as they happen.",
        permission_classes=[allowed("hub.regional_nodes.list")],
    )
    async def regional_node_events(
        self, info: Info[HubContext, None]
    ) -> AsyncGenerator[RegionalNodeEventType, None]:
        context = info.context
        async for event in gated_events(
            context, context.node_events.subscribe(), action="hub.regional_nodes.list"
        ):
            yield RegionalNodeEventType.from_event(event, context.settings)
