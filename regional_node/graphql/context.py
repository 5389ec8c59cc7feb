from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from regional_node.hub_link.link import HubLink
from regional_node.runtime import NodeRuntime
from regional_node.settings import NodeSettings
from yunfab.graphql.context import ServiceContext, request_context
from yunfab.subject import ANONYMOUS, Subject
from yunfab.tokens import TokenValidator, bearer_token


async def current_subject(connection: HTTPConnection) -> Subject:
    """The subject of a hub-issued token, checked offline against the hub's cached keys."""
    token = bearer_token(connection.headers.get("authorization"))
    if token is None:
        return ANONYMOUS
    validator: TokenValidator = connection.app.state.tokens
    return (await validator.validate(token)).subject()


class NodeContext(ServiceContext):
    settings: NodeSettings
    hub_link: HubLink
    runtime: NodeRuntime


async def get_context(
    connection: HTTPConnection, subject: Annotated[Subject, Depends(current_subject)]
) -> AsyncIterator[NodeContext]:
    state = connection.app.state
    async with request_context(
        NodeContext, connection, subject, hub_link=state.hub_link, runtime=state.runtime
    ) as context:
        yield context
