from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from hub.federation.events import NodeEvents
from hub.identity.auth import current_subject
from hub.settings import HubSettings
from yunfab.graphql.context import ServiceContext
from yunfab.subject import Subject


class HubContext(ServiceContext):
    settings: HubSettings
    node_events: NodeEvents


async def get_context(
    connection: HTTPConnection, subject: Annotated[Subject, Depends(current_subject)]
) -> AsyncIterator[HubContext]:
    state = connection.app.state
    context = HubContext(
        settings=state.settings,
        sessionmaker=state.db.sessionmaker,
        subject=subject,
        authorizer=state.authorizer,
    )
    context.node_events = state.node_events
    try:
        yield context
    finally:
        await context.close()
