from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.tools import merge_types

from regional_node.factories.graphql.queries import FactoryQuery
from regional_node.hub_link.graphql import NodeQuery, NodeSubscription
from regional_node.settings import NodeSettings
from yunfab.graphql.errors import Schema
from yunfab.graphql.http import schema_extensions

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")

Query = merge_types("Query", (NodeQuery, FactoryQuery))
Subscription = merge_types("Subscription", (NodeSubscription,))


def build_schema(settings: NodeSettings) -> strawberry.Schema:
    return Schema(query=Query, subscription=Subscription, extensions=schema_extensions(settings))
