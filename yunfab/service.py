"""What the hub and node apps have in common: runtime state, request sessions, the app shell."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import strawberry
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.staticfiles import StaticFiles

from yunfab import __version__
from yunfab.bodies import BodyLimit, BodyLimits
from yunfab.db import create_engine, create_sessionmaker, session_scope
from yunfab.errors import install_error_handlers
from yunfab.graphql.http import graphql_router
from yunfab.graphql.ide import MOUNT, assets_present
from yunfab.health import ExtraCheck, health_router
from yunfab.logs import RequestIdMiddleware
from yunfab.migrations import MigrationTree
from yunfab.settings import ServiceSettings


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


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: the request's unit of work (commit on success, roll back on error).

    Use it with `scope="function"`, so the commit happens before the response is sent: a client
    must never be told 200 for a write that then fails to commit.
    """
    async with session_scope(database(request).sessionmaker) as session:
        yield session


def create_service_app(
    *,
    title: str,
    description: str,
    settings: ServiceSettings,
    tree: MigrationTree,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    schema: strawberry.Schema,
    context_getter: Callable[..., Any],
    routers: Sequence[APIRouter] = (),
    readiness_extra: ExtraCheck | None = None,
    body_limits: Sequence[BodyLimit] = (),
) -> FastAPI:
    """The app shell. `body_limits` are the routes that take more than `max_body_bytes` (and
    check the caller before they read it); every other body, `/graphql`'s included, is capped
    before a route reads it."""
    app = FastAPI(
        title=title,
        description=description,
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs" if settings.development else None,
        redoc_url=None,
    )
    # Inside the request id middleware, so a refused body's answer carries the request id.
    app.add_middleware(
        BodyLimits,
        default_max_bytes=settings.max_body_bytes,
        routes=[BodyLimit("/graphql", settings.graphql_max_body_bytes), *body_limits],
    )
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    app.include_router(health_router(tree, settings.db_url, readiness_extra))
    for router in routers:
        app.include_router(router)
    app.include_router(graphql_router(schema, settings, context_getter))
    if settings.development and assets_present(settings.graphiql_assets_dir):
        app.mount(
            MOUNT.rstrip("/"),
            StaticFiles(directory=settings.graphiql_assets_dir),
            name="graphiql-assets",
        )
    return app
