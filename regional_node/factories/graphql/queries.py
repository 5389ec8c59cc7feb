from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from regional_node.factories import service
from regional_node.factories.graphql.types import FactoryType
from regional_node.graphql.context import NodeContext
from yunfab.graphql.pagination import Connection, PageRequest, visible_connection
from yunfab.graphql.permissions import allowed


@strawberry.type
class FactoryQuery:
    @strawberry.field(
        description="Factories you may see on this node, ordered by name.",
        permission_classes=[allowed("node.factory.list")],
    )
    async def factories(
        self, info: Info[NodeContext, None], first: int = 50, after: str | None = None
    ) -> Connection[FactoryType]:
        context = info.context
        return await visible_connection(
            PageRequest.from_args(
                first, after, max_size=context.settings.graphql_max_page_size, arity=1
            ),
            fetch=lambda page: service.list_factories(context.session, page=page),
            keep=lambda rows: context.authorizer.filter(
                context.subject, "node.factory.read", rows, service.factory_resource
            ),
            key=lambda factory: (factory.name,),
            node=FactoryType.from_model,
            after=after,
        )

    @strawberry.field(description="One factory, by id.")
    async def factory(self, info: Info[NodeContext, None], id: uuid.UUID) -> FactoryType:
        context = info.context
        factory = await service.readable_factory(
            context.session, context.subject, runtime=context.runtime, factory_id=id
        )
        return FactoryType.from_model(factory)
