"""Federation: the regional nodes, their registration and heartbeats, and the sweep that marks
silent ones offline."""

from __future__ import annotations

import asyncio
import datetime as dt

import structlog

from hub.federation import api, models, service
from hub.federation.graphql.mutations import FederationMutation
from hub.federation.graphql.queries import FederationQuery, FederationSubscription
from hub.state import HubDomain, HubState, HubTask
from yunfab.db import session_scope

log = structlog.get_logger(__name__)


async def sweep_offline_nodes(state: HubState) -> None:
    settings = state.settings
    offline_after = dt.timedelta(seconds=settings.node_offline_after_s)
    while True:
        await asyncio.sleep(settings.offline_sweep_interval_s)
        try:
            async with session_scope(state.db.sessionmaker) as session:
                changed = await service.sweep_offline(
                    session, offline_after=offline_after, events=state.node_events
                )
            for node in changed:
                log.warning("node_offline", node=node.name, last_heartbeat=str(node.last_heartbeat))
        except Exception:  # the sweeper outlives a database hiccup; readiness reports it
            log.exception("offline_sweep_failed")


DOMAIN = HubDomain(
    name="federation",
    models=(models,),
    routers=(api.router,),
    queries=(FederationQuery,),
    mutations=(FederationMutation,),
    subscriptions=(FederationSubscription,),
    # One replica sweeps (under a lease with NATS); the node events it sends reach them all.
    tasks=(HubTask("offline-sweeper", sweep_offline_nodes, singleton=True),),
)
