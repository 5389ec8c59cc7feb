from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry
from strawberry.scalars import JSON

from regional_node.jobs.models import Job


@strawberry.type(
    name="Job",
    description="Long work the node does after the request that asked for it returned.",
)
class JobType:
    id: uuid.UUID
    kind: str = strawberry.field(description="e.g. vision.train")
    key: str | None = strawberry.field(description="Your own name for it, if you gave one.")
    status: str = strawberry.field(description="queued, running, succeeded or failed.")
    attempts: int = strawberry.field(
        description="Runs started (more than one when a worker died or a run failed)."
    )
    result: JSON | None = strawberry.field(
        description="What it made, once succeeded (vision.train: modelId, sku, number)."
    )
    error: str | None = strawberry.field(description="Why the last run failed.")
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def from_model(cls, job: Job) -> JobType:
        result: Any = None
        if job.result is not None:
            result = {_camel(key): value for key, value in job.result.items()}
        return cls(
            id=job.id,
            kind=job.kind,
            key=job.key,
            status=job.status,
            attempts=job.attempts,
            result=result,
            error=job.error,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
