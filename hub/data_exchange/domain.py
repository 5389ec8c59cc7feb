"""The data exchange: data products, offers and contracts, the live queries that reach a node's
rows, the supply and demand board, and the relay of requests for shared workers between
nodes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from hub.data_exchange import api, models
from hub.data_exchange.board import models as board_models
from hub.data_exchange.board.graphql import BoardMutation, BoardQuery
from hub.data_exchange.graphql.mutations import DataExchangeMutation
from hub.data_exchange.graphql.queries import DataExchangeQuery
from hub.data_exchange.live import NodeRows
from hub.data_exchange.workforce_relay import api as relay_api
from hub.data_exchange.workforce_relay import models as relay_models
from hub.data_exchange.workforce_relay.graphql import WorkforceRelayQuery
from hub.state import HubDomain, HubState


@asynccontextmanager
async def start(state: HubState) -> AsyncIterator[None]:
    state.data_live = NodeRows(
        settings=state.settings, keyring=state.keyring, sessionmaker=state.db.sessionmaker
    )
    yield


DOMAIN = HubDomain(
    name="data_exchange",
    models=(models, board_models, relay_models),
    routers=(api.router, relay_api.router),
    queries=(DataExchangeQuery, BoardQuery, WorkforceRelayQuery),
    mutations=(DataExchangeMutation, BoardMutation),
    start=start,
)
