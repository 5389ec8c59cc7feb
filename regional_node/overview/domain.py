"""The node's overview: its figures at a glance."""

from __future__ import annotations

from regional_node.overview.graphql import OverviewQuery
from regional_node.state import NodeDomain

DOMAIN = NodeDomain(name="overview", queries=(OverviewQuery,))
