"""Who calls the hub: the subject behind a bearer token, or anonymous; and the hub's authorizer."""

from __future__ import annotations

import structlog
from starlette.requests import HTTPConnection

from hub.state import hub_state
from yunfab.authorization import Authorizer
from yunfab.subject import ANONYMOUS, Subject
from yunfab.tokens import bearer_token


async def current_subject(connection: HTTPConnection) -> Subject:
    """A verified token's subject; anonymous when no token is given. A bad token is a 401."""
    token = bearer_token(connection.headers.get("authorization"))
    if token is None:
        return ANONYMOUS
    validator = hub_state(connection.app).tokens
    subject = (await validator.validate(token)).subject()
    structlog.contextvars.bind_contextvars(subject=subject.label, org=subject.org_id)
    return subject


def authorizer(connection: HTTPConnection) -> Authorizer:
    return hub_state(connection.app).authorizer
