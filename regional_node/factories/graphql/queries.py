from __future__ import annotations

import uuid
from typing import Annotated

import strawberry
from strawberry.types import Info

from regional_node.factories import service
from regional_node.factories.graphql.types import FactoryStatusEnum, FactoryType
from regional_node.factories.repository import FactoryFilter
from regional_node.graphql.context import NodeContext
from regional_node.graphql.lookup import exactly_one
from yunfab.graphql.pagination import Connection, counted_or_visible
from yunfab.graphql.permissions import allowed
from yunfab.graphql.resolvers import page_request, query


@strawberry.type
class FactoryQuery:
    @strawberry.field(
        description="Factories you may see on this node, ordered by name. `totalCount` is null "
        "for a factory's own people (each factory is decided on its own).",
        permission_classes=[allowed("node.factory.list")],
    )
    async def factories(
        self,
        info: Info[NodeContext, None],
        status: FactoryStatusEnum | None = None,  # type: ignore[valid-type]
        region: Annotated[
            str | None, strawberry.argument(description="The location's ISO 3166-2 region.")
        ] = None,
        search: Annotated[
            str | None, strawberry.argument(description="Part of the name or the slug, any case.")
        ] = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[FactoryType]:
        context = info.context
        where = FactoryFilter(status=status, region=region, search=search)
        return await counted_or_visible(
            page_request(context, first, after, arity=1),
            sees_all=await service.sees_every_factory(context.runtime, context.subject),
            fetch=lambda page: service.list_factories(context.session, page=page, where=where),
            keep=lambda rows: context.authorizer.filter(
                context.subject, "node.factory.read", rows, service.factory_resource
            ),
            key=lambda factory: (factory.name,),
            node=FactoryType.from_model,
            after=after,
        )

    @strawberry.field(
        description="One factory, by id or by slug (exactly one); FACTORY_NOT_FOUND for one "
        "you may not see."
    )
    async def factory(
        self,
        info: Info[NodeContext, None],
        id: uuid.UUID | None = None,
        slug: str | None = None,
    ) -> FactoryType:
        context = info.context
        exactly_one(id=id, slug=slug)
        if id is not None:
            factory = await query(
                context, service.readable_factory, runtime=context.runtime, factory_id=id
            )
        else:
            factory = await query(
                context, service.readable_factory_by_slug, runtime=context.runtime, slug=str(slug)
            )
        return FactoryType.from_model(factory)
