"""Factories, their equipment and capacity."""

from __future__ import annotations

from regional_node.factories import models
from regional_node.factories.graphql.mutations import FactoryMutation
from regional_node.factories.graphql.queries import FactoryQuery
from regional_node.state import NodeDomain

DOMAIN = NodeDomain(
    name="factories", models=(models,), queries=(FactoryQuery,), mutations=(FactoryMutation,)
)
