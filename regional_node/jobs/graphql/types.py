from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from yunfab.jobs.graphql import JobFields


@strawberry.type(
    name="Job",
    description="Long work the node does after the request that asked for it returned.",
)
class JobType(JobFields):
    kind: str = strawberry.field(description="e.g. vision.train")
    result: JSON | None = strawberry.field(
        description="What it made, once succeeded (vision.train: modelId, sku, number)."
    )
