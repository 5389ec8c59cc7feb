"""Shared workers: seasonal labour lent between factories, matched, with the workers' consent."""

from __future__ import annotations

from regional_node.state import NodeDomain, NodeTask
from regional_node.workforce import models
from regional_node.workforce.graphql.schema import WorkforceMutation, WorkforceQuery
from regional_node.workforce.relay import relay
from regional_node.workforce.rematch import rematch
from regional_node.workforce.retention import purge

DOMAIN = NodeDomain(
    name="workforce",
    models=(models,),
    queries=(WorkforceQuery,),
    mutations=(WorkforceMutation,),
    tasks=(
        NodeTask("workforce-rematch", rematch, singleton=True),
        NodeTask("workforce-purge", purge, singleton=True),
        NodeTask("workforce-relay", relay, singleton=True),
    ),
)
