"""Per-request GraphQL context shared by both services.

Reads share one lazily opened session per request, closed when the request ends. (Mutations,
when they come, should each run in their own `session_scope`, so a failing one leaves nothing
half-written and an earlier one in the same document stays committed.)
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection
from strawberry.fastapi import BaseContext

from yunfab.authorization import Authorizer
from yunfab.settings import ServiceSettings
from yunfab.state import service_state
from yunfab.subject import Subject
from yunfab.tokens import RevocationSource, TokenExpired, TokenRevoked


class ServiceContext(BaseContext):
    def __init__(
        self,
        *,
        settings: ServiceSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        subject: Subject,
        authorizer: Authorizer,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.subject = subject
        self.authorizer = authorizer
        self._read_session: AsyncSession | None = None
        self._serial: _SerialSession | None = None
        self._decisions: dict[tuple[str, str], bool] = {}
        self.revocations: RevocationSource | None = None
        self.loaders: dict[str, Any] = {}

    def ensure_current(self) -> None:
        """For long-lived operations (subscriptions): end them once the caller's token expires
        or is revoked, instead of streaming on the strength of a token no longer valid."""
        subject = self.subject
        if subject.expires_at is not None and time.time() > subject.expires_at:
            raise TokenExpired("the token has expired")
        revocations = getattr(self, "revocations", None)
        if (
            subject.token_id
            and revocations is not None
            and revocations.is_revoked(subject.token_id)
        ):
            raise TokenRevoked("the token has been revoked")

    def forget_decisions(self) -> None:
        """After the subject changed (a websocket's token given in `connection_init`)."""
        self._decisions.clear()

    async def allows(self, action: str, resource: dict[str, Any] | None = None) -> bool:
        key = (action, json.dumps(resource or {}, sort_keys=True, default=str))
        if key not in self._decisions:
            self._decisions[key] = await self.authorizer.allows(self.subject, action, resource)
        return self._decisions[key]

    @property
    def session(self) -> AsyncSession:
        """The request's read session, opened on first use and closed by `close()`.

        GraphQL resolves sibling fields concurrently, and an `AsyncSession` allows one operation
        at a time: the session handed out runs its operations one after another."""
        if self._read_session is None:
            self._read_session = self.sessionmaker()
            self._serial = _SerialSession(self._read_session)
        return cast(AsyncSession, self._serial)

    async def close(self) -> None:
        if self._read_session is not None:
            await self._read_session.close()
            self._read_session = self._serial = None


class _SerialSession:
    """An `AsyncSession` whose awaitable methods (`get`, `execute`, `scalar`...) wait for one
    another; everything else is the session's own."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._lock = asyncio.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._session, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        @functools.wraps(attribute)
        async def one_at_a_time(*args: Any, **kwargs: Any) -> Any:
            async with self._lock:
                return await attribute(*args, **kwargs)

        # Kept: the next `get` or `execute` finds it without wrapping the method again (a page's
        # relations call the session a dozen times).
        setattr(self, name, one_at_a_time)
        return one_at_a_time


C = TypeVar("C", bound=ServiceContext)


@asynccontextmanager
async def request_context(
    cls: type[C], connection: HTTPConnection, subject: Subject, **extra: Any
) -> AsyncIterator[C]:
    """A service's context for one request or websocket, from the app's state; closed after."""
    state = service_state(connection.app)
    context = cls(
        settings=state.settings,
        sessionmaker=state.db.sessionmaker,
        subject=subject,
        authorizer=state.authorizer,
    )
    context.revocations = state.tokens.revocations
    for name, value in extra.items():
        setattr(context, name, value)
    try:
        yield context
    finally:
        await context.close()
