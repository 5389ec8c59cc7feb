from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry
from strawberry.scalars import JSON

from hub.jobs.models import Job


@strawberry.type(
    name="Job",
    description="Long work the hub does after the request that asked for it returned.",
)
class JobType:
    id: uuid.UUID
    kind: str = strawberry.field(description="e.g. federated.run")
    key: str = strawberry.field(description="What it works on (federated.run: the run's id).")
    status: str = strawberry.field(description="queued, running, succeeded or failed.")
    attempts: int = strawberry.field(
        description="Runs started (more than one when a worker died or a run failed)."
    )
    worker: str | None = strawberry.field(description="The process running or that last ran it.")
    result: JSON | None = strawberry.field(
        description="What it made, once succeeded (federated.run: runId, status)."
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
            worker=job.worker,
            result=result,
            error=job.error,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
