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
from yunfab.graphql.pagination import Connection, PageRequest
from yunfab.graphql.permissions import allowed
from yunfab.graphql.subscriptions import EventGate


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
        page = await service.list_nodes(
            context.session,
            context.subject,
            page=PageRequest.from_args(
                first, after, max_size=context.settings.graphql_max_page_size, arity=1
            ),
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
        node = await service.get_node(context.session, context.subject, name=name)
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
        still_allowed = EventGate(context, action="hub.regional_nodes.list")
        async for event in context.node_events.subscribe():
            await still_allowed()
            yield RegionalNodeEventType.from_event(event, context.settings)
