"""The knowledge market: listings, releases, entitlements and installations on nodes."""

from __future__ import annotations

from hub.knowledge_market import api, models
from hub.knowledge_market.graphql.mutations import MarketMutation
from hub.knowledge_market.graphql.queries import MarketQuery
from hub.state import HubDomain

DOMAIN = HubDomain(
    name="knowledge_market",
    models=(models,),
    routers=(api.router,),
    queries=(MarketQuery,),
    mutations=(MarketMutation,),
    body_limits=api.body_limits,
)
