from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import HTTPConnection

from regional_node.hub_link.link import HubLink
from regional_node.settings import NodeSettings
from yunfab.graphql.context import ServiceContext
from yunfab.subject import ANONYMOUS


class NodeContext(ServiceContext):
    settings: NodeSettings
    hub_link: HubLink


async def get_context(connection: HTTPConnection) -> AsyncIterator[NodeContext]:
    app = connection.app
    # Callers are anonymous until #3; permission classes decide what that allows.
    context = NodeContext(
        settings=app.state.settings, sessionmaker=app.state.db.sessionmaker, subject=ANONYMOUS
    )
    context.hub_link = app.state.hub_link
    try:
        yield context
    finally:
        await context.close()
