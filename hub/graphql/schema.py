from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.tools import merge_types

from hub.domains import DOMAINS, MUTATION_ORDER
from hub.settings import HubSettings
from yunfab.domains import merged
from yunfab.graphql.errors import Schema
from yunfab.graphql.http import schema_extensions

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")

Query = merge_types("Query", merged(DOMAINS, "queries"))
Mutation = merge_types("Mutation", merged(DOMAINS, "mutations", MUTATION_ORDER))
Subscription = merge_types("Subscription", merged(DOMAINS, "subscriptions"))


def build_schema(settings: HubSettings) -> strawberry.Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=schema_extensions(settings),
    )
