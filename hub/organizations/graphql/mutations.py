"""Creating organizations (hub administrators, hub.organizations.create), as `yunfab hub org
create` does from the hub's console, audited."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from hub.graphql.context import HubContext
from hub.organizations import service
from hub.organizations.graphql.types import OrganizationType
from hub.organizations.models import OrganizationKind
from yunfab.graphql.permissions import allowed
from yunfab.graphql.resolvers import mutate


@strawberry.input(name="CreateOrganizationInput")
class CreateOrganizationInput:
    name: str = strawberry.field(description="Unique, 1 to 200 characters.")
    kind: OrganizationKind


@strawberry.type
class OrganizationMutation:
    @strawberry.mutation(
        description="Create an organization (hub administrators); refused with "
        "ORGANIZATION_EXISTS when the name is taken.",
        permission_classes=[allowed("hub.organizations.create")],
    )
    async def create_organization(
        self, info: Info[HubContext, None], input: CreateOrganizationInput
    ) -> OrganizationType:
        context = info.context
        organization = await mutate(
            context, service.create_organization, name=input.name, kind=input.kind
        )
        return OrganizationType.from_model(organization)
