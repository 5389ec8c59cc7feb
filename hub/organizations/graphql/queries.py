from __future__ import annotations

import strawberry
from strawberry.types import Info

from hub.graphql.context import HubContext
from hub.organizations import service
from hub.organizations.graphql.types import OrganizationType
from yunfab.graphql.pagination import Connection, PageRequest
from yunfab.graphql.permissions import SignedInOrDevelopment


@strawberry.type
class OrganizationQuery:
    @strawberry.field(
        description="Organizations taking part in the platform, ordered by name.",
        permission_classes=[SignedInOrDevelopment],
    )
    async def organizations(
        self, info: Info[HubContext, None], first: int = 50, after: str | None = None
    ) -> Connection[OrganizationType]:
        context = info.context
        page = await service.list_organizations(
            context.session,
            context.subject,
            page=PageRequest.from_args(
                first, after, max_size=context.settings.graphql_max_page_size, arity=1
            ),
        )
        return Connection[OrganizationType].from_page(
            page,
            key=lambda organization: (organization.name,),
            node=OrganizationType.from_model,
            after=after,
        )
