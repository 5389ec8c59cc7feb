from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from regional_node.graphql.context import NodeContext
from regional_node.jobs import service
from regional_node.jobs.graphql.types import JobType
from regional_node.jobs.models import Job
from yunfab.graphql.resolvers import query
from yunfab.jobs.graphql import job_changes


@strawberry.type
class JobQuery:
    @strawberry.field(
        description="A job: to who asked for it, and to who may do its work at its factory."
    )
    async def job(self, info: Info[NodeContext, None], id: uuid.UUID) -> JobType:
        context = info.context
        row = await query(context, service.get_job, runtime=context.runtime, job_id=id)
        return JobType.from_model(row)


@strawberry.type
class JobSubscription:
    @strawberry.subscription(
        description="A job as it changes (taken by a worker, queued again, succeeded or failed), "
        "to whoever may read it (`job(id:)`): as it is when asked, then at each change, until "
        "it is done."
    )
    async def job_progress(
        self, info: Info[NodeContext, None], id: uuid.UUID
    ) -> AsyncGenerator[JobType, None]:
        context = info.context

        async def may_read(session: AsyncSession) -> Job:
            return await service.get_job(
                session, context.subject, runtime=context.runtime, job_id=id
            )

        async for job in job_changes(context, context.runtime.job_events, id, may_read):
            yield JobType.from_model(job)
