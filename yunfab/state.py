"""The typed state a service's lifespan builds, in place of loose `app.state` names.

Each app extends `ServiceState` with what its domains set up (the hub's `HubState`, the node's
`NodeState`); the lifespan builds it, `install_state` puts it on the app, and code reads it
through `service_state(app)` (the shared kit) or `state_of(app, HubState)` (an app's own code)
with its types, instead of `app.state.<name>`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from yunfab.authorization import Authorizer
from yunfab.db import create_engine, create_sessionmaker
from yunfab.ratelimit import SharedTokenBucket
from yunfab.settings import ServiceSettings
from yunfab.tokens import TokenValidator


@dataclass
class Database:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]

    @classmethod
    def open(cls, url: str) -> Database:
        engine = create_engine(url)
        return cls(engine=engine, sessionmaker=create_sessionmaker(engine))

    async def close(self) -> None:
        await self.engine.dispose()


@dataclass(kw_only=True)
class ServiceState:
    """What the shared kit reads of a running service (sessions, GraphQL context, tokens)."""

    settings: ServiceSettings
    db: Database
    authorizer: Authorizer
    tokens: TokenValidator = field(init=False)
    """Set at start-up by the domain holding the keys tokens are checked with."""
    anonymous_requests: SharedTokenBucket | None = None
    """GraphQL requests without a token, per address, across the replicas (set at start-up
    by `yunfab.graphql.http.anonymous_limit`; None: not limited)."""


S = TypeVar("S", bound=ServiceState)

_ATTRIBUTE = "service"


def install_state(app: Starlette, state: ServiceState) -> None:
    setattr(app.state, _ATTRIBUTE, state)


def state_of(app: Starlette, kind: type[S]) -> S:
    """The app's typed state; a RuntimeError before its lifespan has built it."""
    state = getattr(app.state, _ATTRIBUTE, None)
    if not isinstance(state, kind):
        raise RuntimeError(f"{kind.__name__} is not built: the app's lifespan has not started")
    return state


def service_state(app: Starlette) -> ServiceState:
    return state_of(app, ServiceState)
