"""Who calls the hub. Until OAuth2 client credentials land (issue #3), node calls are anonymous and
accepted only by a development hub; a production hub refuses them, so nothing is open by default."""

from __future__ import annotations

from fastapi import Request
from starlette.requests import HTTPConnection

from hub.settings import HubSettings
from yunfab.errors import Unauthenticated
from yunfab.subject import ANONYMOUS, Subject


async def node_caller(request: Request) -> Subject:
    settings: HubSettings = request.app.state.settings
    if settings.development:
        return ANONYMOUS
    raise Unauthenticated("node credentials are required")


async def graphql_subject(connection: HTTPConnection) -> Subject:
    """GraphQL callers are anonymous until #3; permission classes decide what that allows."""
    return ANONYMOUS
