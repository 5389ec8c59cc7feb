from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from regional_node.graphql.context import NodeContext
from regional_node.jobs import service
from regional_node.jobs.graphql.types import JobType
from yunfab.graphql.resolvers import query


@strawberry.type
class JobQuery:
    @strawberry.field(
        description="A job: to who asked for it, and to who may do its work at its factory."
    )
    async def job(self, info: Info[NodeContext, None], id: uuid.UUID) -> JobType:
        context = info.context
        row = await query(context, service.get_job, runtime=context.runtime, job_id=id)
        return JobType.from_model(row)
