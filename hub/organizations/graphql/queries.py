from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from hub.graphql.context import HubContext
from hub.organizations import service
from hub.organizations.errors import OrganizationNotFound
from hub.organizations.graphql.types import OrganizationType
from hub.organizations.models import Organization, OrganizationKind
from yunfab.errors import InvalidInput
from yunfab.graphql.pagination import Connection, visible_connection
from yunfab.graphql.permissions import allowed
from yunfab.graphql.resolvers import page_request, query


def _resource(organization: Organization) -> dict[str, str]:
    return {
        "id": str(organization.id),
        "kind": organization.kind.value,
        "org": str(organization.id),
    }


@strawberry.type
class OrganizationQuery:
    @strawberry.field(
        description="Organizations you may see, ordered by name; `text` matches a part of the "
        "name. totalCount is null: what you may see is decided organization by organization.",
        permission_classes=[allowed("hub.organizations.list")],
    )
    async def organizations(
        self,
        info: Info[HubContext, None],
        first: int = 50,
        after: str | None = None,
        kind: OrganizationKind | None = None,
        text: str | None = None,
    ) -> Connection[OrganizationType]:
        context = info.context
        if len(text or "") > 100:
            raise InvalidInput("text is at most 100 characters")
        request = page_request(context, first, after, arity=1)
        return await visible_connection(
            request,
            fetch=lambda page: query(
                context, service.list_organizations, page=page, kind=kind, text=text or None
            ),
            keep=lambda rows: context.authorizer.filter(
                context.subject, "hub.organization.read", rows, _resource
            ),
            key=lambda organization: (organization.name,),
            node=OrganizationType.from_model,
            after=after,
        )

    @strawberry.field(
        description="One organization you may see (ORGANIZATION_NOT_FOUND otherwise).",
        permission_classes=[allowed("hub.organizations.list")],
    )
    async def organization(self, info: Info[HubContext, None], id: uuid.UUID) -> OrganizationType:
        context = info.context
        organization = await service.get_organization(context.session, id)
        if not await context.allows("hub.organization.read", _resource(organization)):
            raise OrganizationNotFound("no such organization")
        return OrganizationType.from_model(organization)
