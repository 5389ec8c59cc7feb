from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import FastAPI

from regional_node.graphql.context import get_context
from regional_node.graphql.schema import build_schema
from regional_node.hub_link.client import HubClient, Registration
from regional_node.hub_link.link import Backoff, HubLink
from regional_node.identity.service import ensure_identity
from regional_node.settings import NodeSettings
from yunfab.db import session_scope
from yunfab.migrations import TREES
from yunfab.service import Database, create_service_app

log = structlog.get_logger(__name__)


def create_app(
    settings: NodeSettings,
    *,
    hub_auth: httpx.Auth | None = None,
    hub_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The node app. `hub_auth` signs calls to the hub; `hub_transport` reaches an in-process hub
    (tests) instead of the network."""
    public_url = settings.public_url or f"http://{settings.host}:{settings.port}"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database.open(settings.db_url)
        app.state.db = db
        async with session_scope(db.sessionmaker) as session:
            await ensure_identity(
                session, name=settings.name, region=settings.region, industry=settings.industry
            )
        link = HubLink(
            client=HubClient(
                settings.hub_url,
                timeout_s=settings.hub_timeout_s,
                auth=hub_auth,
                transport=hub_transport,
            ),
            registration=Registration(
                name=settings.name,
                region=settings.region,
                industry=settings.industry,
                base_url=public_url.rstrip("/"),
            ),
            heartbeat_interval_s=settings.heartbeat_interval_s,
            backoff=Backoff(settings.hub_retry_initial_s, settings.hub_retry_max_s),
            sessionmaker=db.sessionmaker,
        )
        app.state.hub_link = link
        link.start()
        log.info("node_started", public_url=public_url, hub=settings.hub_url)
        try:
            yield
        finally:
            await link.stop()
            await db.close()
            log.info("node_stopped")

    async def hub_link_check() -> dict[str, Any]:
        status = app.state.hub_link.status
        return {
            "hub": {
                "state": status.state.value,
                "url": status.hub_url,
                "last_error": status.last_error,
            }
        }

    app = create_service_app(
        title=f"Yunfab node {settings.name}",
        description="A regional node: factories, devices, vision, scheduling.",
        settings=settings,
        tree=TREES["node"],
        lifespan=lifespan,
        schema=build_schema(settings),
        context_getter=get_context,
        readiness_extra=hub_link_check,
    )
    app.state.settings = settings
    return app
