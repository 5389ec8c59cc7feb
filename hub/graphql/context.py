from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from hub.federation.events import NodeEvents
from hub.identity import graphql_subject
from hub.settings import HubSettings
from yunfab.graphql.context import ServiceContext
from yunfab.subject import Subject


class HubContext(ServiceContext):
    settings: HubSettings
    node_events: NodeEvents


async def get_context(
    connection: HTTPConnection, subject: Annotated[Subject, Depends(graphql_subject)]
) -> AsyncIterator[HubContext]:
    app = connection.app
    context = HubContext(
        settings=app.state.settings, sessionmaker=app.state.db.sessionmaker, subject=subject
    )
    context.node_events = app.state.node_events
    try:
        yield context
    finally:
        await context.close()
