"""What the hub and node apps have in common: runtime state, request sessions, the app shell."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import strawberry
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yunfab import __version__
from yunfab.bodies import BodyLimit, BodyLimits
from yunfab.db import session_scope
from yunfab.errors import install_error_handlers
from yunfab.graphql.http import graphql_router
from yunfab.graphql.ide import GraphiQL, SignIn, docs_router, graphiql_router, mount_assets
from yunfab.health import ExtraCheck, health_router
from yunfab.logs import RequestIdMiddleware
from yunfab.migrations import MigrationTree
from yunfab.settings import ServiceSettings
from yunfab.state import Database as Database
from yunfab.state import service_state


def database(request: Request) -> Database:
    return service_state(request.app).db


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: the request's unit of work (commit on success, roll back on error).

    Use it with `scope="function"`, so the commit happens before the response is sent: a client
    must never be told 200 for a write that then fails to commit.
    """
    async with session_scope(database(request).sessionmaker) as session:
        yield session


class PublicCors:
    """Cross-origin calls to a few public endpoints, from any origin and without cookies.

    GraphiQL served by a node is another origin than the hub it signs in at, and a browser lets
    its page read the hub's discovery document and exchange a code or refresh token only when
    the hub allows that origin. These endpoints give nothing for ambient credentials (no
    cookies are sent to `*`): what a token request gets depends only on what it carries (a code
    with its PKCE verifier, a refresh token), so any origin may call them."""

    def __init__(self, app: ASGIApp, paths: Sequence[str]) -> None:
        self.app = app
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await PlainTextResponse("", headers=_PREFLIGHT)(scope, receive, send)
            return

        async def allowing(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Access-Control-Allow-Origin"] = "*"
            await send(message)

        await self.app(scope, receive, allowing)


_PREFLIGHT = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
    "Access-Control-Max-Age": "600",
}


BINARY: dict[str, Any] = {"type": "string", "format": "binary"}
"""A file part's schema."""


def multipart_body(required: list[str], **fields: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its multipart form itself (to authorize before
    the files arrive, and to cap them): the parts it takes, so `/docs` can send them. A part
    whose schema is `BINARY` is a file."""
    schema = {"type": "object", "required": required, "properties": fields}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


BEARER = "bearerAuth"


def with_bearer_scheme(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The OpenAPI document with the hub's bearer tokens as its security scheme, optional on
    every operation (the policy decides), so Swagger UI's Authorize sends the token."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes,
            )  # fmt: skip
            schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes[BEARER] = {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "An access token from the hub's /oauth/token",
            }
            document["security"] = [{BEARER: []}, {}]
            app.openapi_schema = document
        return app.openapi_schema

    return openapi


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
    sign_in: SignIn | None = None,
    public_cors: Sequence[str] = (),
) -> FastAPI:
    """The app shell. `body_limits` are the routes that take more than `max_body_bytes` (and
    check the caller before they read it); every other body, `/graphql`'s included, is capped
    before a route reads it. `sign_in` says where GraphiQL signs its users in; `public_cors` are
    paths any origin may call (`PublicCors`)."""
    app = FastAPI(
        title=title,
        description=description,
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    # Inside the request id middleware, so a refused body's answer carries the request id.
    app.add_middleware(
        BodyLimits,
        default_max_bytes=settings.max_body_bytes,
        routes=[BodyLimit("/graphql", settings.graphql_max_body_bytes), *body_limits],
    )
    app.add_middleware(RequestIdMiddleware)
    if public_cors:
        app.add_middleware(PublicCors, paths=public_cors)
    install_error_handlers(app)
    app.openapi = with_bearer_scheme(app)  # type: ignore[method-assign]
    app.include_router(health_router(tree, settings.db_url, readiness_extra))
    for router in routers:
        app.include_router(router)
    ide = GraphiQL(sign_in, title) if settings.graphiql else None
    app.include_router(graphql_router(schema, settings, context_getter, ide))
    if ide is not None:
        app.include_router(graphiql_router(ide))
    if settings.api_docs:
        app.include_router(docs_router(app))
    if ide is not None or settings.api_docs:
        mount_assets(app)
    return app
