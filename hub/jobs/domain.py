"""Jobs: long work queued by requests and run by workers (hub/workers.py)."""

from __future__ import annotations

from hub.jobs import models
from hub.jobs.graphql.queries import JobQuery, JobSubscription
from hub.jobs.sweeper import sweep
from hub.state import HubDomain, HubTask

DOMAIN = HubDomain(
    name="jobs",
    models=(models,),
    queries=(JobQuery,),
    subscriptions=(JobSubscription,),
    tasks=(HubTask("jobs-resubmit-lost", sweep, singleton=True),),
)
