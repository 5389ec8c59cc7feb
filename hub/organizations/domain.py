"""Organizations: the members of the federation that people, clients and nodes belong to."""

from __future__ import annotations

from hub.organizations import models
from hub.organizations.graphql.mutations import OrganizationMutation
from hub.organizations.graphql.queries import OrganizationQuery
from hub.state import HubDomain

DOMAIN = HubDomain(
    name="organizations",
    models=(models,),
    queries=(OrganizationQuery,),
    mutations=(OrganizationMutation,),
)
