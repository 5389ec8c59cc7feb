"""Who may open a subscription, and keep it.

A browser cannot set headers on a websocket upgrade, so besides the upgrade's `Authorization`
header the token may come in graphql-transport-ws's `connection_init` payload, as
`{"Authorization": "Bearer <token>"}` (the key in any case; what graphql-ws's `connectionParams`
and Apollo's clients send). A token there replaces the upgrade's. A token that does not verify
closes the socket with 4403 (the protocol's answer to a refused `connection_init`).

A socket lives longer than its token. It is closed with 4401 when the token expires (a timer,
not only the next event) or is revoked (checked every few seconds and before each event), and
when an operation fails because its caller is not authenticated (an anonymous caller asking for
a subscription that needs a token), so a client knows to sign in again rather than retry.

Each event is re-authorized (`EventGate`) before it is sent: what the subscriber could see when
it subscribed (a factory, a device) it may no longer see. `gated_events` is a subscription's
frame: the first access check, then the events it wants, each through the gate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable
from contextlib import suppress
from typing import Any, TypeVar

from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
)
from strawberry.types import ExecutionResult

from yunfab.errors import Forbidden, Unauthenticated
from yunfab.graphql.context import ServiceContext
from yunfab.graphql.resolvers import read
from yunfab.state import service_state
from yunfab.subject import SubjectKind
from yunfab.tokens import TokenError, bearer_token

UNAUTHORIZED = 4401
FORBIDDEN = 4403
REVOCATION_POLL_S = 5.0
"""How often an open socket's token is looked up in the deny-list between events."""
RECHECK_EVERY_S = 1.0
"""A subscription's data access is asked again at most this often (telemetry streams many
events a second; each re-check is a database read)."""


def connection_token(payload: dict[str, Any]) -> str | None:
    """The bearer token in a `connection_init` payload; None when it carries none.

    Raises TokenError when an Authorization entry is there but is not a bearer token."""
    for key, value in payload.items():
        if key.lower() == "authorization":
            token = bearer_token(value) if isinstance(value, str) else None
            if token is None:
                raise TokenError("Authorization must be 'Bearer <token>'")
            return token
    return None


def _unauthenticated(result: ExecutionResult) -> bool:
    return any(isinstance(error.original_error, Unauthenticated) for error in result.errors or [])


class AuthenticatingHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws with the token from `connection_init`, and a socket that ends
    (4401) with its token."""

    _watch: asyncio.Task[None] | None = None
    _closed = False

    @property
    def _context(self) -> ServiceContext | None:
        return self.context if isinstance(self.context, ServiceContext) else None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload") or {}
        context = self._context
        if context is not None and isinstance(payload, dict) and not self.connection_init_received:
            try:
                token = connection_token(payload)
                if token is not None:
                    validator = service_state(context.request.app).tokens  # type: ignore[union-attr]
                    context.subject = (await validator.validate(token)).subject()
                    context.forget_decisions()
            except TokenError as exc:
                await self.close(FORBIDDEN, f"Forbidden: {exc.code}")
                return
        await super().handle_connection_init(message)
        if self.connection_acknowledged and context is not None and self._watch is None:
            if context.subject.expires_at is not None or context.subject.token_id:
                self._watch = asyncio.create_task(self._watch_token(context))

    async def _watch_token(self, context: ServiceContext) -> None:
        """Close the socket once its token expires or is revoked, events or none."""
        while not self._closed:
            try:
                context.ensure_current()
            except TokenError as exc:
                await self.close(UNAUTHORIZED, f"Unauthorized: {exc.code}")
                return
            wait = REVOCATION_POLL_S
            if context.subject.expires_at is not None:
                wait = min(wait, max(context.subject.expires_at - time.time(), 0.0) + 0.05)
            await asyncio.sleep(wait)

    async def _send_result_stream(self, operation: Operation[Any, Any], result_source: Any) -> None:
        async def closing_when_unauthenticated() -> AsyncGenerator[Any, None]:
            async for result in result_source:
                if isinstance(result, ExecutionResult) and _unauthenticated(result):
                    await self.close(UNAUTHORIZED, f"Unauthorized: {_first_code(result)}")
                    raise _OperationStreamClosed
                yield result

        await super()._send_result_stream(operation, closing_when_unauthenticated())

    async def close(self, code: int, reason: str) -> None:
        """Close the socket once; operations still running stop sending."""
        if self._closed:
            return
        self._closed = True
        with suppress(RuntimeError):
            await self.websocket.close(code=code, reason=reason[:120])
        current = asyncio.current_task()
        for operation_id, operation in list(self.operations.items()):
            if operation.task is not current:
                await self.cleanup_operation(operation_id)

    async def send_message(self, message: Message) -> None:
        if not self._closed:
            await super().send_message(message)

    async def shutdown(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with suppress(asyncio.CancelledError):
                await self._watch
        await super().shutdown()


def _first_code(result: ExecutionResult) -> str:
    for error in result.errors or []:
        if isinstance(error, GraphQLError) and error.extensions and "code" in error.extensions:
            return str(error.extensions["code"])
    return "UNAUTHENTICATED"


Check = Callable[[AsyncSession], Awaitable[object]]


class EventGate:
    """Asked before each event a subscription yields: is the token still good, and may its
    subject still see this? Raises what the first check would have (a TokenError closes the
    socket with 4401; a Forbidden or NOT_FOUND ends the subscription with that error).

    `action` is asked of the policy afresh (not the request's memoized decision); `check` runs
    the resolver's own access check in a session of its own. Both run at most once every
    `RECHECK_EVERY_S`; the token is checked every time."""

    def __init__(
        self, context: ServiceContext, *, action: str | None = None, check: Check | None = None
    ) -> None:
        self._context = context
        self._action = action
        self._check = check
        self._checked_at = time.monotonic()

    async def __call__(self) -> None:
        context = self._context
        context.ensure_current()
        now = time.monotonic()
        if now - self._checked_at < RECHECK_EVERY_S:
            return
        if self._action is not None and not await context.authorizer.allows(
            context.subject, self._action, {}
        ):
            if context.subject.kind is SubjectKind.ANONYMOUS:
                raise Unauthenticated("authentication required")
            raise Forbidden("no longer allowed")
        if self._check is not None:
            async with context.sessionmaker() as session:
                await self._check(session)
        self._checked_at = time.monotonic()


E = TypeVar("E")


async def gated_events(
    context: ServiceContext,
    events: AsyncIterable[E],
    *,
    wanted: Callable[[E], bool] | None = None,
    action: str | None = None,
    check: Check | None = None,
) -> AsyncGenerator[E, None]:
    """The events of `events` a subscription yields: `check` first runs once in a read session
    of its own (its error ends the subscription before it starts), then each event `wanted`
    keeps passes the `EventGate` (token, `action`, `check`) before it is handed on."""
    if check is not None:
        await read(context, check)
    still_allowed = EventGate(context, action=action, check=check)
    async for event in events:
        if wanted is not None and not wanted(event):
            continue
        await still_allowed()
        yield event
