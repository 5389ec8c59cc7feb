from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.tools import merge_types

from hub.audit.graphql.queries import AuditQuery
from hub.data_exchange.board.graphql import BoardMutation, BoardQuery
from hub.data_exchange.graphql.mutations import DataExchangeMutation
from hub.data_exchange.graphql.queries import DataExchangeQuery
from hub.federated.graphql import FederatedMutation, FederatedQuery, FederatedSubscription
from hub.federation.graphql.mutations import FederationMutation
from hub.federation.graphql.queries import FederationQuery, FederationSubscription
from hub.identity.admin_graphql import AdminMutation, AdminQuery
from hub.identity.graphql import IdentityMutation, IdentityQuery
from hub.knowledge_market.graphql.mutations import MarketMutation
from hub.knowledge_market.graphql.queries import MarketQuery
from hub.organizations.graphql.mutations import OrganizationMutation
from hub.organizations.graphql.queries import OrganizationQuery
from hub.settings import HubSettings
from yunfab.graphql.errors import Schema
from yunfab.graphql.http import schema_extensions

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")

Query = merge_types(
    "Query",
    (
        FederationQuery,
        OrganizationQuery,
        AuditQuery,
        IdentityQuery,
        AdminQuery,
        FederatedQuery,
        DataExchangeQuery,
        BoardQuery,
        MarketQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        FederationMutation,
        FederatedMutation,
        DataExchangeMutation,
        BoardMutation,
        MarketMutation,
        IdentityMutation,
        AdminMutation,
        OrganizationMutation,
    ),
)
Subscription = merge_types("Subscription", (FederationSubscription, FederatedSubscription))


def build_schema(settings: HubSettings) -> strawberry.Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=schema_extensions(settings),
    )
