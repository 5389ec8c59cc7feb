from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.tools import merge_types

from regional_node.domains import DOMAINS
from regional_node.settings import NodeSettings
from yunfab.domains import merged
from yunfab.graphql.errors import Schema
from yunfab.graphql.http import schema_extensions

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")

Query = merge_types("Query", merged(DOMAINS, "queries"))
Mutation = merge_types("Mutation", merged(DOMAINS, "mutations"))
Subscription = merge_types("Subscription", merged(DOMAINS, "subscriptions"))


def build_schema(settings: NodeSettings) -> strawberry.Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=schema_extensions(settings),
    )
