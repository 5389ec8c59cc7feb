"""The market on the node: what it installed from the hub's knowledge market, and the keys it
trusts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from regional_node.market import api, models
from regional_node.market.graphql import MarketQuery
from regional_node.market.installer import MarketInstaller
from regional_node.state import NodeDomain, NodeState, NodeTask


@asynccontextmanager
async def start(state: NodeState) -> AsyncIterator[None]:
    """Every replica has an installer (the console's "check now" runs a round where it is
    asked); the background rounds run in one replica at a time (a singleton task)."""
    settings = state.settings
    state.market_installer = MarketInstaller(
        client=state.hub_link.client,
        sessionmaker=state.db.sessionmaker,
        runtime=state.runtime,
        node_name=settings.name,
        directory=settings.data_dir / "market",
        require_verified=settings.market_require_verified,
        max_artifact_bytes=settings.market_max_artifact_mb * 1024 * 1024,
    )
    yield


def install(state: NodeState) -> Coroutine[Any, Any, None]:
    settings = state.settings
    return state.market_installer.run(state.hub_link, settings.market_poll_interval_s)


DOMAIN = NodeDomain(
    name="market",
    models=(models,),
    routers=(api.router,),
    queries=(MarketQuery,),
    start=start,
    tasks=(NodeTask("market-installer", install, singleton=True),),
)
