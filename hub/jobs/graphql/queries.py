from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from hub.graphql.context import HubContext
from hub.jobs import service
from hub.jobs.graphql.types import JobType
from yunfab.graphql.resolvers import query


@strawberry.type
class JobQuery:
    @strawberry.field(
        description="A job (a federated run's driving, ...): to whoever may read what it works on."
    )
    async def job(self, info: Info[HubContext, None], id: uuid.UUID) -> JobType:
        context = info.context
        row = await query(context, service.get_job, authorizer=context.authorizer, job_id=id)
        return JobType.from_model(row)
