from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import structlog
from fastapi import FastAPI

from hub.federation import api as federation_api
from hub.federation import service as federation
from hub.federation.events import NodeEvents
from hub.graphql.context import get_context
from hub.graphql.schema import build_schema
from hub.settings import HubSettings
from yunfab.db import session_scope
from yunfab.migrations import TREES
from yunfab.service import Database, create_service_app

log = structlog.get_logger(__name__)


async def _sweep_offline_nodes(app: FastAPI, settings: HubSettings) -> None:
    offline_after = dt.timedelta(seconds=settings.node_offline_after_s)
    while True:
        await asyncio.sleep(settings.offline_sweep_interval_s)
        try:
            async with session_scope(app.state.db.sessionmaker) as session:
                changed = await federation.sweep_offline(
                    session, offline_after=offline_after, events=app.state.node_events
                )
            for node in changed:
                log.warning("node_offline", node=node.name, last_heartbeat=str(node.last_heartbeat))
        except Exception:  # the sweeper outlives a database hiccup; readiness reports it
            log.exception("offline_sweep_failed")


def create_app(settings: HubSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database.open(settings.db_url)
        app.state.node_events = NodeEvents()
        sweeper = asyncio.create_task(_sweep_offline_nodes(app, settings), name="offline-sweeper")
        log.info("hub_started", database=app.state.db.engine.url.render_as_string())
        try:
            yield
        finally:
            sweeper.cancel()
            with suppress(asyncio.CancelledError):
                await sweeper
            await app.state.db.close()
            log.info("hub_stopped")

    app = create_service_app(
        title="Yunfab hub",
        description="The 1 of 1+N: node federation, data exchange and the knowledge market.",
        settings=settings,
        tree=TREES["hub"],
        lifespan=lifespan,
        schema=build_schema(settings),
        context_getter=get_context,
        routers=[federation_api.router],
    )
    app.state.settings = settings
    return app
