from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from yunfab.jobs.graphql import JobFields


@strawberry.type(
    name="Job",
    description="Long work the hub does after the request that asked for it returned.",
)
class JobType(JobFields):
    kind: str = strawberry.field(description="e.g. federated.run")
    key: str = strawberry.field(description="What it works on (federated.run: the run's id).")
    result: JSON | None = strawberry.field(
        description="What it made, once succeeded (federated.run: runId, status)."
    )
