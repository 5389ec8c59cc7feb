"""The market on the node: what it installed from the hub's knowledge market, and the keys it
trusts."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from regional_node.market import api, models
from regional_node.market.graphql import MarketQuery
from regional_node.market.installer import MarketInstaller
from regional_node.state import NodeDomain, NodeState, NodeTask


def install(state: NodeState) -> Coroutine[Any, Any, None]:
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
    return state.market_installer.run(state.hub_link, settings.market_poll_interval_s)


DOMAIN = NodeDomain(
    name="market",
    models=(models,),
    routers=(api.router,),
    queries=(MarketQuery,),
    tasks=(NodeTask("market-installer", install),),
)
