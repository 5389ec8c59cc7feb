"""Gateways: claim codes (a gateway's credentials without anyone typing one) and the status
gateways report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from regional_node.gateways import api, models
from regional_node.gateways.graphql.mutations import GatewayConfigMutation, GatewayMutation
from regional_node.gateways.graphql.queries import GatewayQuery
from regional_node.settings import NodeSettings
from regional_node.state import NodeDomain, NodeState
from yunfab.bodies import BodyLimit


@asynccontextmanager
async def start(state: NodeState) -> AsyncIterator[None]:
    state.claim_requests = await api.claim_requests(state.runtime)
    state.claim_failures = await api.claim_failures(state.runtime)
    yield


def body_limits(settings: NodeSettings) -> list[BodyLimit]:
    return [api.BODY_LIMIT, api.STATUS_LIMIT]


DOMAIN = NodeDomain(
    name="gateways",
    models=(models,),
    routers=(api.router,),
    queries=(GatewayQuery,),
    mutations=(GatewayMutation, GatewayConfigMutation),
    body_limits=body_limits,
    start=start,
)
