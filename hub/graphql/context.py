from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import HTTPConnection

from hub.data_exchange.live import NodeRows
from hub.federated.runner import FlowerRunner
from hub.federation.events import NodeEvents
from hub.identity.auth import current_subject
from hub.settings import HubSettings
from hub.state import hub_state
from yunfab.events import Broadcaster
from yunfab.graphql.context import ServiceContext, request_context
from yunfab.jobs import InProcessJobs, NatsJobs
from yunfab.jobs.events import JobChanged
from yunfab.subject import Subject


class HubContext(ServiceContext):
    settings: HubSettings
    node_events: NodeEvents
    runner: FlowerRunner
    audit: Callable[..., Awaitable[Any]]
    live_rows: NodeRows
    jobs: InProcessJobs | NatsJobs
    job_events: Broadcaster[JobChanged]


async def get_context(
    connection: HTTPConnection, subject: Annotated[Subject, Depends(current_subject)]
) -> AsyncIterator[HubContext]:
    state = hub_state(connection.app)
    async with request_context(
        HubContext, connection, subject, node_events=state.node_events,
        runner=state.federated_runner, audit=state.audit.append, live_rows=state.data_live,
        jobs=state.jobs, job_events=state.job_events,
    ) as context:  # fmt: skip
        yield context
