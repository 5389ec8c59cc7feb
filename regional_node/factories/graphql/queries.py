from __future__ import annotations

import strawberry
from strawberry.types import Info

from regional_node.factories import service
from regional_node.factories.graphql.types import FactoryType
from regional_node.graphql.context import NodeContext
from yunfab.graphql.pagination import Connection, PageRequest
from yunfab.graphql.permissions import allowed


@strawberry.type
class FactoryQuery:
    @strawberry.field(
        description="Factories that joined this node, ordered by name.",
        permission_classes=[allowed("node.factory.read")],
    )
    async def factories(
        self, info: Info[NodeContext, None], first: int = 50, after: str | None = None
    ) -> Connection[FactoryType]:
        context = info.context
        page = await service.list_factories(
            context.session,
            context.subject,
            page=PageRequest.from_args(
                first, after, max_size=context.settings.graphql_max_page_size, arity=1
            ),
        )
        return Connection[FactoryType].from_page(
            page, key=lambda factory: (factory.name,), node=FactoryType.from_model, after=after
        )
