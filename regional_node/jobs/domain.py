"""Jobs: long work queued by requests and run by workers (regional_node/workers.py)."""

from __future__ import annotations

from regional_node.jobs import models
from regional_node.jobs.graphql.queries import JobQuery, JobSubscription
from regional_node.jobs.sweeper import sweep
from regional_node.state import NodeDomain, NodeTask

DOMAIN = NodeDomain(
    name="jobs",
    models=(models,),
    queries=(JobQuery,),
    subscriptions=(JobSubscription,),
    tasks=(NodeTask("jobs-resubmit-lost", sweep, singleton=True),),
)
