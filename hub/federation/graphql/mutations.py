"""Hub operators' changes to the node directory."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from hub.federation import service
from hub.federation.graphql.types import RegionalNodeType
from hub.federation.urls import node_url_rules
from hub.graphql.context import HubContext
from yunfab.graphql.resolvers import mutate


@strawberry.type
class FederationMutation:
    @strawberry.mutation(
        description="Move a node to a new URL (hub operators' admins). A node's URL is fixed "
        "when it first registers: it cannot move it itself. The URL is held to the same rules "
        "(unique, https outside development, no private addresses unless the hub allows them)."
    )
    async def change_regional_node_url(
        self, info: Info[HubContext, None], name: str, base_url: str
    ) -> RegionalNodeType:
        context = info.context
        node = await mutate(
            context,
            service.change_node_url,
            authorizer=context.authorizer,
            name=name,
            base_url=base_url,
            rules=node_url_rules(context.settings),
        )
        return RegionalNodeType.from_model(node, context.settings)
