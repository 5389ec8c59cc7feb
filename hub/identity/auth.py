"""Who calls the hub: the subject behind a bearer token, or anonymous; and the hub's authorizer."""

from __future__ import annotations

import structlog
from starlette.requests import HTTPConnection

from yunfab.authorization import Authorizer
from yunfab.subject import ANONYMOUS, Subject
from yunfab.tokens import TokenValidator, bearer_token


async def current_subject(connection: HTTPConnection) -> Subject:
    """A verified token's subject; anonymous when no token is given. A bad token is a 401."""
    token = bearer_token(connection.headers.get("authorization"))
    if token is None:
        return ANONYMOUS
    validator: TokenValidator = connection.app.state.tokens
    subject = (await validator.validate(token)).subject()
    structlog.contextvars.bind_contextvars(subject=subject.label, org=subject.org_id)
    return subject


def authorizer(connection: HTTPConnection) -> Authorizer:
    hub_authorizer: Authorizer = connection.app.state.authorizer
    return hub_authorizer
