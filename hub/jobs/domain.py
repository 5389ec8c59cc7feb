"""Jobs: long work queued by requests and run by workers (hub/workers.py)."""

from __future__ import annotations

from hub.jobs import models
from hub.jobs.graphql.queries import JobQuery
from hub.state import HubDomain

DOMAIN = HubDomain(name="jobs", models=(models,), queries=(JobQuery,))
