"""C2M demand: brands' configurable products and sales, forecasts, production proposals."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import structlog

from regional_node.demand import api, feeds, forecaster, models
from regional_node.demand.graphql.schema import DemandMutation, DemandQuery
from regional_node.state import NodeDomain, NodeState, NodeTask
from yunfab.db import session_scope, utcnow

log = structlog.get_logger(__name__)

CHECK_EVERY_S = 60.0
"""How often the background task looks for sales feeds that are due."""


@asynccontextmanager
async def forecast_pool(state: NodeState) -> AsyncIterator[None]:
    """The forecaster thread starts on the first forecast; it goes with the node."""
    try:
        yield
    finally:
        forecaster.POOL.close()


async def _due(state: NodeState) -> list[uuid.UUID]:
    async with state.db.sessionmaker() as session:
        return await feeds.due(session, now=utcnow())


async def _pull_due(state: NodeState) -> None:
    while True:
        try:
            for feed_id in await _due(state):
                async with session_scope(state.db.sessionmaker) as session:
                    outcome = await feeds.pull(
                        session, feeds.FEED_SUBJECT, runtime=state.runtime,
                        hub=state.hub_link.client, feed_id=feed_id,
                    )  # fmt: skip
                if outcome.error is not None:
                    log.warning("sales_feed_refused", feed=str(feed_id), error=outcome.error.detail)
        except Exception:  # a database hiccup must not end the pulls for good
            log.exception("sales_feed_pull_failed")
        await asyncio.sleep(CHECK_EVERY_S)


def pull_in_background(state: NodeState) -> Coroutine[Any, Any, None]:
    """Feeds with `every_minutes` are pulled when due (looked for every minute)."""
    return _pull_due(state)


DOMAIN = NodeDomain(
    name="demand",
    models=(models,),
    routers=(api.router,),
    queries=(DemandQuery,),
    mutations=(DemandMutation,),
    body_limits=api.body_limits,
    start=forecast_pool,
    tasks=(NodeTask("demand-sales-feeds", pull_in_background, singleton=True),),
)
