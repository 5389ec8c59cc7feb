from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from regional_node.hub_link.link import HubLink
from regional_node.runtime import NodeRuntime
from regional_node.settings import NodeSettings
from regional_node.state import node_state
from yunfab.graphql.context import ServiceContext, request_context
from yunfab.subject import ANONYMOUS, Subject
from yunfab.tokens import bearer_token


async def current_subject(connection: HTTPConnection) -> Subject:
    """The subject of a hub-issued token, checked offline against the hub's cached keys."""
    token = bearer_token(connection.headers.get("authorization"))
    if token is None:
        return ANONYMOUS
    validator = node_state(connection.app).tokens
    return (await validator.validate(token)).subject()


class NodeContext(ServiceContext):
    settings: NodeSettings
    hub_link: HubLink
    runtime: NodeRuntime


async def get_context(
    connection: HTTPConnection, subject: Annotated[Subject, Depends(current_subject)]
) -> AsyncIterator[NodeContext]:
    state = node_state(connection.app)
    async with request_context(
        NodeContext, connection, subject, hub_link=state.hub_link, runtime=state.runtime
    ) as context:
        yield context
