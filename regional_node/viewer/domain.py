"""Who the caller is on this node, and what they may do here."""

from __future__ import annotations

from regional_node.state import NodeDomain
from regional_node.viewer.graphql import ViewerQuery

DOMAIN = NodeDomain(name="viewer", queries=(ViewerQuery,))
