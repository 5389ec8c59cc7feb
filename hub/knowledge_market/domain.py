"""The knowledge market: listings, releases, entitlements and installations on nodes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from hub.blobs import prepare_blobs
from hub.knowledge_market import api, models
from hub.knowledge_market.graphql.mutations import MarketMutation
from hub.knowledge_market.graphql.queries import MarketQuery
from hub.state import HubDomain, HubState


@asynccontextmanager
async def start(state: HubState) -> AsyncIterator[None]:
    # The hub's files (artifacts, models, run outputs): their S3 bucket made when missing.
    await prepare_blobs(state.settings)
    yield


DOMAIN = HubDomain(
    name="knowledge_market",
    models=(models,),
    routers=(api.router,),
    queries=(MarketQuery,),
    mutations=(MarketMutation,),
    body_limits=api.body_limits,
    start=start,
)
