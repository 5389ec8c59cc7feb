"""The `Job` type's fields, shared by the hub's and the node's: each app's type subclasses
`JobFields` (its own description, its `key` and `result` said for its kinds of job); and
`job_changes`, what each app's `jobProgress` subscription follows."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Self

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON

from yunfab.events import Broadcaster
from yunfab.graphql.context import ServiceContext
from yunfab.graphql.resolvers import read
from yunfab.graphql.subscriptions import gated_events
from yunfab.jobs.events import JobChanged
from yunfab.jobs.models import JobColumns
from yunfab.jobs.repository import J


@strawberry.type
class JobFields:
    id: uuid.UUID
    kind: str
    key: str | None = strawberry.field(description="Your own name for it, if you gave one.")
    status: str = strawberry.field(description="queued, running, succeeded or failed.")
    attempts: int = strawberry.field(
        description="Runs started (more than one when a worker died or a run failed)."
    )
    worker: str | None = strawberry.field(description="The process running or that last ran it.")
    result: JSON | None = strawberry.field(description="What it made, once succeeded.")
    error: str | None = strawberry.field(description="Why the last run failed.")
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def from_model(cls, job: JobColumns) -> Self:
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


async def job_changes(
    context: ServiceContext,
    events: Broadcaster[JobChanged],
    job_id: uuid.UUID,
    may_read: Callable[[AsyncSession], Awaitable[J]],
) -> AsyncGenerator[J, None]:
    """The job as it is now, then again at each change of it, until it is done; `may_read`
    (the app's rule: the job, or its error) decides at the start and at each change."""
    # Listening before the row is read: a change committed in between is not missed.
    async with events.listening() as changes:
        job = await read(context, may_read)
        yield job
        if job.done:
            return
        async for _ in gated_events(
            context, changes, wanted=lambda event: event.job_id == job_id, check=may_read
        ):
            job = await read(context, may_read)
            yield job
            if job.done:
                return
